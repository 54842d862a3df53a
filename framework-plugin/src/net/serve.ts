import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A listening HTTP server. */
export interface Served {
  readonly url: string;
  /** Stops accepting, closes open connections, resolves when closed. */
  stop(): Promise<void>;
}

/** Serves `handler` on `host:port` (port 0 or undefined = a free one). */
export async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void,
  options: { host?: string; port?: number } = {},
): Promise<Served> {
  // A Koa callback answers its own errors (ctx.onerror): its promise is dropped on purpose.
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 }, resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    url: `http://${address}:${port}`,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
