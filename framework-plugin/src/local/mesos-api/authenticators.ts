import { createHash, timingSafeEqual } from 'node:crypto';
import { acsTokenCheck } from '../../net/acsToken.js';
import type { MesosAuthenticator } from './server.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** DC/OS: the cluster's ACS token (`Authorization: token=…`) proves the principal `principal`. */
export function tokenAuthenticator(token: string, principal = 'dcos_sip_agent'): MesosAuthenticator {
  const ok = acsTokenCheck(token);
  return { kind: 'token', check: (h) => (ok(h) ? principal : undefined) };
}

/**
 * Open-source Mesos with `--authenticate_http_readwrite` and
 * `--http_credentials`: HTTP Basic against the credentials list (each
 * compared in constant time). Returns the principal.
 */
export function basicAuthenticator(credentials: ReadonlyArray<{ principal: string; secret: string }>): MesosAuthenticator {
  const known = credentials.map((c) => ({ principal: c.principal, want: digest(`${c.principal}:${c.secret}`) }));
  return {
    kind: 'basic',
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
