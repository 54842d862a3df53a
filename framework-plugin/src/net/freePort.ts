import { createServer } from 'node:net';

/**
 * Asks the kernel for a currently free TCP port on `host`.
 *
 * The port is released before returning, so a caller that binds it later can
 * still lose a race; callers that start a foreign server on it retry.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}
