import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import type { AddressInfo } from 'node:net';

export interface LocalServer {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Serves a hono app on 127.0.0.1 at a free port chosen by the OS. */
export function startLocalServer(app: Hono): Promise<LocalServer> {
  return new Promise((resolve) => {
    const server: ServerType = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({
        endpoint: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            if ('closeAllConnections' in server) {
              server.closeAllConnections();
            }
            server.close((error) => (error ? fail(error) : done()));
          }),
      });
    });
  });
}

export const fakeCredentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };
