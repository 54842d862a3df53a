import { createHmac, timingSafeEqual } from 'node:crypto';

/** Issues and checks the local cluster's login tokens. */
export interface TokenIssuer {
  /** A token for `uid`, valid for the issuer's lifetime. */
  issue(uid: string): string;
  /** The uid of a valid, unexpired token; undefined otherwise. */
  verify(token: string): string | undefined;
}

const b64 = (v: string | Buffer): string => Buffer.from(v).toString('base64url');

/**
 * DC/OS-like login tokens: JWTs (HS256 with the cluster's key) carrying
 * `uid` and `exp`, as Bouncer issues them (RS256 there), so a client can
 * read when to renew. `lifetimeSeconds` is the cluster's setting (five days
 * on open DC/OS; seconds in the suites, so tokens expire during a run).
 */
export function createTokenIssuer(init: { key: Buffer; lifetimeSeconds: number; now?: () => number }): TokenIssuer {
  const now = init.now ?? Date.now;
  const header = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const mac = (data: string): Buffer => createHmac('sha256', init.key).update(data).digest();
  return {
    issue(uid) {
      const body = b64(JSON.stringify({ uid, exp: Math.floor(now() / 1000) + init.lifetimeSeconds }));
      return `${header}.${body}.${b64(mac(`${header}.${body}`))}`;
    },
    verify(token) {
      const [h, body, sig] = token.split('.');
      if (!h || !body || !sig || token.length > 4096) return undefined;
      const given = Buffer.from(sig, 'base64url');
      const want = mac(`${h}.${body}`);
      if (given.length !== want.length || !timingSafeEqual(given, want)) return undefined;
      try {
        const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { uid?: unknown; exp?: unknown };
        return typeof claims.uid === 'string' && typeof claims.exp === 'number' && claims.exp * 1000 > now() ? claims.uid : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
