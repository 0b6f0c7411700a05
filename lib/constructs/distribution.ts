import { Duration } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Construct } from 'constructs';
import { DomainConfig } from '../config';
import { PROJECT_ROOT } from '../bundled-function';
import {
  PLUGIN_ENDPOINT_PATH_PATTERN,
  RELAY_API_PATH_PATTERNS,
  WEBHOOK_PATH_PATTERN,
} from '../../functions/upload-relay/routes';

/** Paths Dify's own nginx sends to the api container (docker/nginx/conf.d/default.conf.template). */
export const API_PATH_PATTERNS = ['/console/api/*', '/api/*', '/v1/*', '/files/*', '/mcp/*', '/triggers/*'];
/**
 * Paths CloudFront sends to the upload relay in lambda mode (docs/adr/0016): Dify's upload routes (all inside
 * API_PATH_PATTERNS, listed before them so they take precedence) and the plugin endpoints.
 */
export const RELAY_PATH_PATTERNS: readonly string[] = [
  ...RELAY_API_PATH_PATTERNS,
  WEBHOOK_PATH_PATTERN,
  PLUGIN_ENDPOINT_PATH_PATTERN,
];
/** Relay paths that stay on the relay with `uploads.mode: 'full'` too (they must reach the api or the daemon). */
export const RELAY_ONLY_PATH_PATTERNS: readonly string[] = [WEBHOOK_PATH_PATTERN, PLUGIN_ENDPOINT_PATH_PATTERN];
/** Next.js build output: content-hashed file names, safe to cache. */
export const STATIC_PATH_PATTERN = '/_next/static/*';

/** Where CloudFront sends Dify's api and web traffic. */
export interface DistributionOrigins {
  readonly api: cloudfront.IOrigin;
  readonly web: cloudfront.IOrigin;
  /** Lambda origins need the payload signer; an ALB origin does not. */
  readonly signedLambdaOrigins: boolean;
  /**
   * The upload relay (lib/constructs/upload-relay.ts) for RELAY_PATH_PATTERNS: no OAC, no payload signer.
   * @default undefined (upload routes go to `api`, and `/e/*` is not routed)
   */
  readonly relay?: cloudfront.IOrigin;
  /**
   * `uploads.mode: 'full'` (docs/adr/0019): the internal ALB's VPC origin for Dify's upload routes
   * (RELAY_API_PATH_PATTERNS), in place of the relay; `/e/*` stays on the relay. Authorization is forwarded by the
   * pass-through cache policy (docs/adr/0009), since no Web Adapter restores it there.
   * @default undefined (the upload routes go to `relay`)
   */
  readonly uploads?: cloudfront.IOrigin;
}

export interface DistributionProps {
  readonly origins: DistributionOrigins;
  /** us-east-1 version of the payload signer (required when `origins.signedLambdaOrigins`). */
  readonly payloadSigner?: lambda.IVersion;
  /** ARN of the CLOUDFRONT-scope web ACL. */
  readonly webAclArn: string;
  /**
   * Custom domain and its us-east-1 certificate.
   * @default undefined (the *.cloudfront.net name)
   */
  readonly domain?: DomainConfig;
}

/**
 * The longest origin response timeout CloudFront allows without a quota increase (CloudFront DG "Response
 * timeout"); Dify's SSE pings arrive well within it. Longer is configurable (api.originReadTimeoutSeconds).
 */
export const API_READ_TIMEOUT = Duration.seconds(60);

/**
 * The single public entry: CloudFront with WAF, routing Dify's api paths and web pages to their origins. Dynamic
 * paths are never cached (managed CACHING_DISABLED) and errors are not cached either: a cached api 404 broke
 * Dify 1.13 workflows behind CloudFront (aws-samples/dify-self-hosted-on-aws #111). In lambda hosting with the upload
 * relay only managed policies are used, which keeps the distribution eligible for the flat-rate plans; ALB origins
 * (`hosting: 'alb'`, `uploads.mode: 'full'`) need the Authorization pass-through cache policy (docs/adr/0009).
 */
export class EdgeDistribution extends Construct {
  readonly distribution: cloudfront.Distribution;
  readonly viewerRequestFunction: cloudfront.Function;

  constructor(scope: Construct, id: string, props: DistributionProps) {
    super(scope, id);
    const signed = props.origins.signedLambdaOrigins;
    if (signed && !props.payloadSigner) {
      throw new Error('EdgeDistribution: Lambda origins need the payload signer version (payloadSigner)');
    }
    this.viewerRequestFunction = new cloudfront.Function(this, 'ViewerRequestFunction', {
      comment: 'Dify: keep Authorization past OAC, block debug endpoints, no accept-encoding to streaming origins',
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      code: cloudfront.FunctionCode.fromInline(
        fs.readFileSync(path.join(PROJECT_ROOT, 'edge/viewer-request/index.js'), 'utf8'),
      ),
    });

    const edgeLambdas: cloudfront.EdgeLambda[] | undefined =
      signed && props.payloadSigner
        ? [
            {
              functionVersion: props.payloadSigner,
              eventType: cloudfront.LambdaEdgeEventType.ORIGIN_REQUEST,
              includeBody: true,
            },
          ]
        : undefined;
    // Behind OAC the Authorization header travels as FORWARDED_AUTHORIZATION_HEADER (the managed policies cannot
    // forward it). An ALB origin has no Web Adapter to restore it, so there the header must be forwarded as is, and
    // only a cache policy can do that: one that keys on it and caches for at most a second. That costs the ALB mode
    // its flat-rate plan eligibility, which only matters for the Lambda mode this project recommends.
    // The same holds for the full-size upload routes (docs/adr/0019), which reach Dify on an ALB too.
    let passThroughPolicy: cloudfront.CachePolicy | undefined;
    const authorizationPassThrough = (): cloudfront.CachePolicy =>
      (passThroughPolicy ??= new cloudfront.CachePolicy(this, 'AuthorizationPassThroughPolicy', {
        comment: 'Dify ALB mode: forward Authorization, effectively no caching',
        minTtl: Duration.seconds(0),
        defaultTtl: Duration.seconds(0),
        maxTtl: Duration.seconds(1),
        headerBehavior: cloudfront.CacheHeaderBehavior.allowList('Authorization'),
        queryStringBehavior: cloudfront.CacheQueryStringBehavior.all(),
        cookieBehavior: cloudfront.CacheCookieBehavior.all(),
      }));
    const cachePolicy = signed ? cloudfront.CachePolicy.CACHING_DISABLED : authorizationPassThrough();
    const dynamicBehavior = (
      origin: cloudfront.IOrigin,
      withSigner = true,
      behaviorCachePolicy: cloudfront.ICachePolicy = cachePolicy,
    ): cloudfront.BehaviorOptions => ({
      origin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: behaviorCachePolicy,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      compress: false,
      functionAssociations: [
        { function: this.viewerRequestFunction, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST },
      ],
      edgeLambdas: withSigner ? edgeLambdas : undefined,
    });

    const additionalBehaviors: Record<string, cloudfront.BehaviorOptions> = {
      [STATIC_PATH_PATTERN]: {
        origin: props.origins.web,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        compress: true,
      },
    };
    // CloudFront takes the first behaviour whose pattern matches, in this order: the relay's exact upload routes
    // come before the api's broad prefixes. They keep the same WAF and viewer-request function, and no signer:
    // the relay reads whole bodies itself (docs/adr/0016).
    // With `uploads.mode: 'full'` the upload routes go to the internal ALB instead (docs/adr/0019); webhooks and
    // `/e/*` stay on the relay.
    const { relay, uploads } = props.origins;
    if (relay) {
      for (const pattern of RELAY_PATH_PATTERNS) {
        additionalBehaviors[pattern] =
          uploads && !RELAY_ONLY_PATH_PATTERNS.includes(pattern)
            ? dynamicBehavior(uploads, false, authorizationPassThrough())
            : dynamicBehavior(relay, false);
      }
    }
    for (const pattern of API_PATH_PATTERNS) additionalBehaviors[pattern] = dynamicBehavior(props.origins.api);

    // Error responses only set a zero caching TTL; none maps an error to another page or status.
    const errorResponses: cloudfront.ErrorResponse[] = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504].map(
      (httpStatus) => ({ httpStatus, ttl: Duration.seconds(0) }),
    );

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Dify serverless edge',
      defaultBehavior: dynamicBehavior(props.origins.web),
      additionalBehaviors,
      errorResponses,
      webAclId: props.webAclArn,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_200,
      ...(props.domain
        ? {
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            domainNames: [props.domain.name],
            certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', props.domain.certificateArn),
          }
        : {}),
    });
  }

  /** https URL of the site. */
  get url(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }
}

/** Origins for the Lambda hosting mode: both function URLs signed by one OAC (SigV4, always). */
export function lambdaOrigins(
  scope: Construct,
  apiUrl: lambda.IFunctionUrl,
  webUrl: lambda.IFunctionUrl,
  apiReadTimeout: Duration = API_READ_TIMEOUT,
): DistributionOrigins {
  const originAccessControl = new cloudfront.FunctionUrlOriginAccessControl(scope, 'FunctionUrlOac', {
    signing: cloudfront.Signing.SIGV4_ALWAYS,
    description: 'Dify: CloudFront signs every request to the Lambda function URLs',
  });
  return {
    api: origins.FunctionUrlOrigin.withOriginAccessControl(apiUrl, {
      originAccessControl,
      readTimeout: apiReadTimeout,
    }),
    web: origins.FunctionUrlOrigin.withOriginAccessControl(webUrl, {
      originAccessControl,
      readTimeout: Duration.seconds(60),
    }),
    signedLambdaOrigins: true,
  };
}
