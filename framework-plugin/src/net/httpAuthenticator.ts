import { createHash, timingSafeEqual } from 'node:crypto';
import { acsTokenCheck } from './acsToken.js';

/**
 * How a server (a stand-in of Marathon, Mesos or DC/OS) decides who calls:
 * the caller's principal from its `Authorization` header, or undefined, then
 * answered 401 with `challenge` in `WWW-Authenticate`.
 */
export interface HttpAuthenticator {
  readonly challenge: string;
  check(authorization: string | undefined): string | undefined;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * DC/OS (Admin Router, the agents' authenticator): `Authorization: token=…`
 * with the cluster's token, or one `issued` (a service account's login,
 * until it expires), which names its own principal.
 */
export function acsAuthenticator(token: string, issued?: (token: string) => string | undefined, principal = 'bootstrapuser'): HttpAuthenticator {
  const cluster = acsTokenCheck(token);
  return {
    challenge: 'acsjwt',
    check(h) {
      if (cluster(h)) return principal;
      const given = /^token=(.+)$/.exec(h ?? '')?.[1];
      return given && issued ? issued(given) : undefined;
    },
  };
}

/**
 * HTTP Basic against a credentials list (Mesos's `--http_credentials`,
 * Marathon's `--http_credentials`), each compared in constant time; `realm`
 * as the server names it (`mesos-agent-readwrite`, `Mesosphere Marathon`).
 */
export function basicAuthenticator(credentials: ReadonlyArray<{ principal: string; secret: string }>, realm: string): HttpAuthenticator {
  const known = credentials.map((c) => ({ principal: c.principal, want: digest(`${c.principal}:${c.secret}`) }));
  return {
    challenge: `Basic realm="${realm}"`,
    check(h) {
      const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(h ?? '');
      if (!m) return undefined;
      const given = digest(Buffer.from(m[1]!, 'base64').toString('utf8'));
      let found: string | undefined;
      for (const k of known) if (timingSafeEqual(k.want, given)) found ??= k.principal;
      return found;
    },
  };
}
