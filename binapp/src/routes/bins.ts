import Router from '@koa/router';
import { customAlphabet } from 'nanoid';
import type { Middleware } from 'koa';
import { BinappError } from '../errors.js';
import { BodyError, byteLimit } from '../http/byteLimit.js';
import type { BinappMetrics } from '../http/metrics.js';
import type { BinStore } from '../store/BinStore.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-';
const ID_LENGTH = 21;
const ID = /^[A-Za-z0-9_-]{21}$/;

/** Dependencies of {@link binRoutes}. */
export interface BinRoutesDeps {
  store: BinStore;
  metrics: BinappMetrics;
  auth: Middleware;
  prefix: string;
  maxBytes: number;
  /** A body that sends nothing for this long is ended: 408, nothing stored. */
  bodyIdleTimeoutMs: number;
  /** Id generator, injected for tests. Default nanoid (21 URL-safe characters). */
  newId?: () => string;
}

/**
 * `POST /bin` streams the body into the store under a new id;
 * `GET /bin/:id` streams it back. Both require basic auth.
 */
export function binRoutes(deps: BinRoutesDeps): Router {
  const router = new Router();
  const newId = deps.newId ?? customAlphabet(ALPHABET, ID_LENGTH);

  router.post('/bin', deps.auth, async (ctx) => {
    const declared = ctx.request.length;
    if (declared !== undefined && declared > deps.maxBytes) {
      ctx.set('Connection', 'close');
      throw new BinappError('BINAPP_PAYLOAD_TOO_LARGE', 413, `body exceeds the limit of ${deps.maxBytes} bytes`);
    }
    const id = newId();
    const key = `${deps.prefix}/${id}`;
    const contentType = ctx.get('content-type') || 'application/octet-stream';
    const body = byteLimit(deps.maxBytes);
    const req = ctx.req;
    const onGone = (): void => {
      if (!req.complete) body.destroy(new BodyError('BINAPP_CLIENT_ABORTED', 400, 'the client closed the connection before the body was complete'));
    };
    req.once('close', onGone);
    req.once('error', onGone);
    // A body that stalls (a slow-loris upload) is ended: the store discards what it got.
    let idle: NodeJS.Timeout | undefined;
    const stalled = (): void => {
      body.destroy(new BodyError('BINAPP_BODY_TIMEOUT', 408, `the request body sent nothing for ${deps.bodyIdleTimeoutMs} ms`));
    };
    const touch = (): void => {
      clearTimeout(idle);
      if (!req.complete) idle = setTimeout(stalled, deps.bodyIdleTimeoutMs);
    };
    req.on('data', touch);
    req.once('end', () => clearTimeout(idle));
    touch();
    req.pipe(body);

    const done = deps.metrics.uploadSeconds.startTimer();
    try {
      await deps.store.put(key, body, contentType);
    } catch (err) {
      done({ outcome: err instanceof BinappError ? err.code : 'store_error' });
      // Unread body left on the socket: don't reuse the connection.
      if (!req.complete) ctx.set('Connection', 'close');
      throw err;
    } finally {
      clearTimeout(idle);
      req.removeListener('data', touch);
      req.removeListener('close', onGone);
      req.removeListener('error', onGone);
    }
    done({ outcome: 'stored' });
    deps.metrics.uploadedBytes.inc(body.bytes);

    ctx.status = 201;
    ctx.set('Location', `/bin/${id}`);
    if (ctx.accepts('text/plain', 'application/json') === 'application/json') {
      ctx.body = { id, location: `/bin/${id}`, bytes: body.bytes };
    } else {
      ctx.type = 'text/plain';
      ctx.body = `BinID ${id}\n`;
    }
  });

  router.get('/bin/:id', deps.auth, async (ctx) => {
    const id = ctx.params.id ?? '';
    if (!ID.test(id)) throw new BinappError('BINAPP_BAD_ID', 400, `malformed bin id: expected ${ID_LENGTH} characters of A-Z a-z 0-9 _ -`);
    const bin = await deps.store.get(`${deps.prefix}/${id}`);
    if (!bin) throw new BinappError('BINAPP_NOT_FOUND', 404, 'no such bin');
    ctx.type = bin.contentType;
    if (bin.contentLength !== undefined) {
      ctx.length = bin.contentLength;
      deps.metrics.downloadedBytes.inc(bin.contentLength);
    }
    ctx.body = bin.body;
  });

  return router;
}
