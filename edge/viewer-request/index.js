// CloudFront Function (runtime cloudfront-js-2.0), viewer-request on every behaviour that reaches a Dify origin.
//
// 1. Copies the viewer's Authorization header into FORWARDED_AUTHORIZATION_HEADER. The flat-rate-plan-eligible
//    managed origin request policy ALL_VIEWER_EXCEPT_HOST_HEADER cannot forward Authorization (only a cache policy
//    could, and custom cache policies break plan eligibility), while it does forward other viewer headers, including
//    ones a viewer-request function adds. Without the copy, bodyless calls such as the service API's
//    GET /v1/messages would reach Dify without their Bearer token. The Lambda Web Adapter restores Authorization
//    from this header (AWS_LWA_AUTHORIZATION_SOURCE).
// 2. Answers 404 for unauthenticated Dify api endpoints nobody outside needs (Dify 1.13.3):
//    - /threads and /db-pool-stat (api/extensions/ext_app_metrics.py) expose thread and database-pool internals;
//    - POST /console/api/account/change-email/check-email-unique answers whether an e-mail address has an account
//      (account enumeration; api/controllers/console/workspace/account.py);
//    - POST /console/api/test/retrieval is an "internal testing" endpoint that calls Amazon Bedrock with the api's
//      own AWS credentials (api/controllers/console/datasets/external.py).
//    - /_snapstart/* are the api's SnapStart hooks (docs/adr/0017), for the Lambda Web Adapter alone.
//
// 3. Removes Accept-Encoding: the function URLs stream their responses, and compressed streamed responses from
//    function URLs behind CloudFront intermittently end in 502s. This function is only associated with
//    the dynamic behaviours; the cached /_next/static/* behaviour keeps CloudFront's own compression.
//    (Origin-request Lambda@Edge cannot do this: Accept-Encoding is read-only there.)
//
// CloudFront Functions have no module system: keep this file a single top-level `handler` without
// require/import/exports. The header literal must equal FORWARDED_AUTHORIZATION_HEADER in edge/constants.ts
// (test/edge checks it).

var FORWARDED_AUTHORIZATION_HEADER = 'x-dify-authorization';

// Path prefixes, as lower-case segments: a request whose routed path starts with one of them is answered 404.
var BLOCKED_PREFIXES = [
  ['threads'],
  ['db-pool-stat'],
  ['console', 'api', 'account', 'change-email', 'check-email-unique'],
  ['console', 'api', 'test', 'retrieval'],
  // SnapStart hook paths of the api (lib/constructs/api-function.ts SNAPSTART_HOOK_PREFIX): only the Lambda Web
  // Adapter may POST them, from inside the environment; it already answers 403 to outside callers (aws-lambda-web-adapter
  // README, SnapStart), and this keeps them unreachable even through a path the adapter does not recognise.
  ['_snapstart'],
];

// Flask/Werkzeug percent-decodes the path and merges repeated slashes before routing, so /%74hreads or //threads
// reach the same view; match against the path the api would route, not the raw URI.
function routedSegments(uri) {
  var path = typeof uri === 'string' ? uri : '';
  try {
    path = decodeURIComponent(path);
  } catch (malformedEscape) {
    // A malformed escape cannot be routed by the api either; match the raw text.
  }
  var segments = [];
  var parts = path.split('/');
  for (var i = 0; i < parts.length; i++) {
    var part = parts[i];
    if (part === '' || part === '.') continue;
    if (part === '..') {
      segments.pop();
      continue;
    }
    segments.push(part);
  }
  return segments;
}

// Case-insensitive on purpose: a variant the api would not route costs nothing to block, one it would must not pass.
function isBlockedPath(uri) {
  var segments = routedSegments(uri).map(function (segment) {
    return segment.toLowerCase();
  });
  return BLOCKED_PREFIXES.some(function (prefix) {
    if (segments.length < prefix.length) return false;
    for (var i = 0; i < prefix.length; i++) {
      if (segments[i] !== prefix[i]) return false;
    }
    return true;
  });
}

function notFoundResponse() {
  return {
    statusCode: 404,
    statusDescription: 'Not Found',
    headers: {
      'content-type': { value: 'application/json; charset=utf-8' },
      'cache-control': { value: 'no-store' },
    },
    body: { encoding: 'text', data: '{"error":"not_found"}' },
  };
}

function copyAuthorization(headers) {
  var authorization = headers.authorization;
  if (!authorization || typeof authorization.value !== 'string') return;
  var copy = { value: authorization.value };
  if (authorization.multiValue && authorization.multiValue.length) {
    copy.multiValue = authorization.multiValue.map(function (entry) {
      return { value: entry.value };
    });
  }
  headers[FORWARDED_AUTHORIZATION_HEADER] = copy;
}

function handler(event) {
  var request = event.request;
  if (isBlockedPath(request.uri)) return notFoundResponse();
  if (request.headers) {
    copyAuthorization(request.headers);
    delete request.headers['accept-encoding'];
  }
  return request;
}
