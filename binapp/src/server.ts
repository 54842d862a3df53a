import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';

/** A listening binapp. */
export interface RunningServer {
  readonly port: number;
  readonly url: string;
  /** Requests being served right now. */
  readonly inFlight: number;
  /**
   * Graceful stop: no new connections, idle keep-alive sockets closed, the
   * in-flight requests given up to `timeoutMs` to finish, then cut.
   * Resolves true when everything finished in time.
   */
  close(timeoutMs: number): Promise<boolean>;
}

/** Time limits of the HTTP server. */
export interface ServerTimeouts {
  /** For a request's headers. Default 20 s. */
  headersTimeoutMs?: number;
  /** For a whole request, body included. Default 1 h (large uploads). */
  requestTimeoutMs?: number;
}

/** Listens on `host:port` (port 0 = any free one) with the koa app. */
export async function startServer(app: Koa, host: string, port: number, timeouts: ServerTimeouts = {}): Promise<RunningServer> {
  let inFlight = 0;
  const handle = app.callback(); // composes the middleware once, not per request
  const server: Server = createServer((req, res) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (closing) server.closeIdleConnections();
    });
    void handle(req, res);
  });
  // Headers must come quickly; a whole request may take long (a large upload),
  // but not forever; a stalled body is ended earlier by the upload route.
  server.headersTimeout = timeouts.headersTimeoutMs ?? 20_000;
  server.requestTimeout = timeouts.requestTimeoutMs ?? 3_600_000;
  let closing = false;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, resolve);
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  return {
    port: address.port,
    url: `http://${shownHost}:${address.port}`,
    get inFlight() {
      return inFlight;
    },
    close(timeoutMs) {
      closing = true;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          server.closeAllConnections();
          resolve(false);
        }, timeoutMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve(true);
        });
        server.closeIdleConnections();
      });
    },
  };
}
