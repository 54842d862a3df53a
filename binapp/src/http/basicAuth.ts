import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { BinappError } from '../errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * HTTP basic auth against one user and password.
 *
 * Both fields are compared in constant time (over SHA-256 digests, so the
 * length of the secret does not leak either); failures get 401 with a
 * `WWW-Authenticate` challenge.
 */
export function basicAuth(user: string, pass: string, realm = 'binapp'): Middleware {
  const wantUser = digest(user);
  const wantPass = digest(pass);
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    let ok = false;
    if (match?.[1]) {
      const decoded = Buffer.from(match[1], 'base64').toString('utf8');
      const sep = decoded.indexOf(':');
      if (sep >= 0) {
        const userOk = timingSafeEqual(digest(decoded.slice(0, sep)), wantUser);
        const passOk = timingSafeEqual(digest(decoded.slice(sep + 1)), wantPass);
        ok = userOk && passOk;
      }
    }
    if (!ok) {
      ctx.set('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`);
      throw new BinappError('BINAPP_UNAUTHORIZED', 401, 'authentication required');
    }
    await next();
  };
}
