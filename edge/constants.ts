/**
 * Settings shared by the edge code (Lambda@Edge payload signer, CloudFront viewer-request function) and the CDK
 * stacks. This file must stay import-free: esbuild bundles it into the Lambda@Edge function, which cannot read
 * environment variables, so these constants are the signer's whole configuration.
 */

/**
 * Header that carries the viewer's `Authorization` value past CloudFront to the Lambda function URL.
 *
 * OAC with signing behaviour "always" overwrites `Authorization` with its SigV4 signature, and the managed
 * ALL_VIEWER_EXCEPT_HOST_HEADER origin request policy cannot forward `Authorization` anyway. The Lambda Web Adapter
 * copies this header back into `Authorization` before Dify sees the request when the api function sets
 * `AWS_LWA_AUTHORIZATION_SOURCE` to this name.
 *
 * The CloudFront Function in edge/viewer-request/index.js cannot import modules, so it repeats this literal;
 * test/edge asserts that both spellings stay equal.
 */
export const FORWARDED_AUTHORIZATION_HEADER = 'x-dify-authorization';

/** Lambda@Edge hands origin-request functions at most 1 MB of body; anything longer arrives truncated. */
export const EDGE_BODY_LIMIT_BYTES = 1024 * 1024;

/** Text of the 413 answer the signer returns for bodies it cannot hash because Lambda@Edge truncated them. */
export const PAYLOAD_TOO_LARGE_MESSAGE =
  'Request bodies over 1 MB cannot pass the CloudFront edge of this deployment: the Lambda@Edge payload signer only ' +
  'receives the first 1 MB of a body, so it cannot compute the SHA-256 that the Lambda function URL requires. ' +
  'Upload a smaller file or split the request.';
