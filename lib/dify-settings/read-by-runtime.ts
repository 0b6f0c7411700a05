import { DifyImageId } from './facts';

/**
 * Names an upstream image reads that its source tree does not show, because the reader is the runtime the image
 * ships rather than Dify's code. Kept by hand, each with where to check it; the generated facts never list them.
 */
export interface RuntimeRead {
  readonly name: string;
  readonly image: DifyImageId;
  readonly reader: string;
  readonly source: string;
}

export const READ_BY_RUNTIME: readonly RuntimeRead[] = [
  // dify-web ends with `exec node /app/web/server.js` (web/docker/entrypoint.sh of Dify 1.13.3), the server that
  // Next.js writes for `output: 'standalone'`; it listens on $HOSTNAME:$PORT.
  {
    name: 'PORT',
    image: 'dify-web',
    reader: 'server.js of Next.js output: standalone',
    source:
      'Next.js docs, next.config.js "output" ("define PORT or HOSTNAME environment variables before running server.js")',
  },
  {
    name: 'HOSTNAME',
    image: 'dify-web',
    reader: 'server.js of Next.js output: standalone',
    source:
      'Next.js docs, next.config.js "output" ("define PORT or HOSTNAME environment variables before running server.js")',
  },
];
