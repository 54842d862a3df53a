import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { UpstreamAuth } from './upstreamAuth.js';

/** What a server answered. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as UTF-8 text ('' when empty). */
  readonly text: string;
  /** The body parsed as JSON; `undefined` when empty or not JSON. */
  readonly json: unknown;
}

/** Options of {@link sendRequest}. */
export interface HttpRequestInit {
  method?: string;
  headers?: Record<string, string>;
  /** A string body, sent as is (set its content type in `headers`). */
  body?: string;
  /** Whole-request deadline, connection to last byte. */
  timeoutMs: number;
  /** Largest answer read; a longer one fails. Default 8 MiB. */
  maxBytes?: number;
  /**
   * Who the client is: its `Authorization` header is sent, and on a 401 the
   * source is renewed once (a new DC/OS login) and the request sent again.
   */
  auth?: UpstreamAuth;
}

/**
 * One HTTP(S) request on Node's own `http` module, the answer read whole.
 * The CLI's clients use it instead of axios or `fetch`: both cost ~230 ms
 * to load on every `sip` call (measured by `npm run bench`), more than the
 * whole command may take. Any status resolves; only transport failures
 * (refused, reset, timed out, too large) reject, with Node's error `code`.
 */
export async function sendRequest(url: string, init: HttpRequestInit): Promise<HttpAnswer> {
  if (!init.auth) return sendOnce(url, init);
  const withAuth = (value: string | undefined): HttpRequestInit => ({
    ...init,
    headers: { ...init.headers, ...(value === undefined ? {} : { authorization: value }) },
  });
  const sent = await init.auth.header();
  const first = await sendOnce(url, withAuth(sent));
  if (first.status !== 401 || !(await init.auth.renew(sent))) return first;
  return sendOnce(url, withAuth(await init.auth.header()));
}

function sendOnce(url: string, init: HttpRequestInit): Promise<HttpAnswer> {
  const u = new URL(url);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  const maxBytes = init.maxBytes ?? 8 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const req = send(
      u,
      {
        method: init.method ?? 'GET',
        headers: { ...(init.body !== undefined ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}), ...init.headers },
        signal: AbortSignal.timeout(init.timeoutMs),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (d: Buffer) => {
          size += d.length;
          if (size > maxBytes) req.destroy(Object.assign(new Error(`answer larger than ${maxBytes} bytes`), { code: 'ETOOLARGE' }));
          else chunks.push(d);
        });
        res.once('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.once('error', reject);
      },
    );
    req.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.name === 'AbortError' || err.code === 'ABORT_ERR' ? Object.assign(new Error(`no answer within ${init.timeoutMs} ms`), { code: 'ETIMEDOUT' }) : err,
      ),
    );
    req.end(init.body);
  });
}
