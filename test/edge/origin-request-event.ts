import type { CloudFrontHeaders, CloudFrontRequest, CloudFrontRequestEvent } from 'aws-lambda';

/** Host of a Lambda function URL as CloudFront sends it to the origin (ALL_VIEWER_EXCEPT_HOST_HEADER policy). */
export const FUNCTION_URL_HOST = 'k3xq7v2mdl5wz4h6r8t0ypbnca1fejsu.lambda-url.us-east-1.on.aws';

export interface OriginRequestOptions {
  method?: string;
  uri?: string;
  querystring?: string;
  /** Extra headers in CloudFront's map format; a `host` entry is always added. */
  headers?: CloudFrontHeaders;
  /** Exact body bytes; omitted means the event carries no body object at all. */
  body?: Buffer;
  inputTruncated?: boolean;
}

export function header(key: string, ...values: string[]): CloudFrontHeaders {
  return { [key.toLowerCase()]: values.map((value) => ({ key, value })) };
}

/**
 * An origin-request event shaped like the one CloudFront passes to a Lambda@Edge function associated with
 * includeBody: true (CloudFront DG, "Lambda@Edge event structure").
 */
export function originRequestEvent(options: OriginRequestOptions = {}): CloudFrontRequestEvent {
  const request: CloudFrontRequest = {
    clientIp: '203.0.113.178',
    method: options.method ?? 'GET',
    uri: options.uri ?? '/v1/chat-messages',
    querystring: options.querystring ?? '',
    headers: {
      host: [{ key: 'Host', value: FUNCTION_URL_HOST }],
      'user-agent': [{ key: 'User-Agent', value: 'Amazon CloudFront' }],
      via: [{ key: 'Via', value: '2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net (CloudFront)' }],
      'x-forwarded-for': [{ key: 'X-Forwarded-For', value: '203.0.113.178' }],
      ...options.headers,
    },
    origin: {
      custom: {
        customHeaders: {},
        domainName: FUNCTION_URL_HOST,
        keepaliveTimeout: 5,
        path: '',
        port: 443,
        protocol: 'https',
        readTimeout: 60,
        sslProtocols: ['TLSv1.2'],
      },
    },
  };
  if (options.body !== undefined) {
    request.body = {
      action: 'read-only',
      data: options.body.toString('base64'),
      encoding: 'base64',
      inputTruncated: options.inputTruncated ?? false,
    };
  }
  return {
    Records: [
      {
        cf: {
          config: {
            distributionDomainName: 'd111111abcdef8.cloudfront.net',
            distributionId: 'EDFDVBD6EXAMPLE',
            eventType: 'origin-request',
            requestId: '4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==',
          },
          request,
        },
      },
    ],
  };
}

export function requestOf(event: CloudFrontRequestEvent): CloudFrontRequest {
  return event.Records[0].cf.request;
}

/**
 * A multipart/form-data body as a browser sends it for a file upload: the file part (binary, as is) and optional
 * text fields after it.
 */
export function multipartUpload(boundary: string, fileBytes: Buffer, fields: Record<string, string> = {}): Buffer {
  const textParts = Object.entries(fields).map(
    ([name, value]) => `\r\n--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}`,
  );
  return Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="scan.bin"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
    fileBytes,
    Buffer.from(`${textParts.join('')}\r\n--${boundary}--\r\n`),
  ]);
}
