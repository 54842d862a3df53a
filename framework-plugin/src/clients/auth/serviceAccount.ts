import { sign } from 'node:crypto';
import { SipError } from '../../core/errors/SipError.js';
import { sendRequest } from '../../net/httpRequest.js';
import type { UpstreamAuth } from '../../net/upstreamAuth.js';

/** User options of {@link serviceAccountAuth}. */
export interface ServiceAccountInit {
  /** The cluster's URL (`https://<master>`): logins go to `/acs/api/v1/auth/login`. */
  clusterUrl: string;
  /** The service account's uid. */
  uid: string;
  /** Its RSA private key (PEM). */
  privateKey: string;
  /** Renew this long before the token's `exp`, ms (default: a tenth of its lifetime, at most 10 minutes). */
  refreshBeforeMs?: number;
  now?: () => number;
  timeoutMs?: number;
}

const b64url = (v: string | Buffer): string => Buffer.from(v).toString('base64url');

/** The `exp` claim (seconds) of a JWT, if it is one. */
function expiryOf(token: string): number | undefined {
  try {
    const exp = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A DC/OS service account's ACS token, renewed for as long as it is used: a
 * login JWT (RS256, `{uid, exp}`, signed with the account's private key) is
 * exchanged at `POST /acs/api/v1/auth/login` for a token
 * (`Authorization: token=…`), again before its `exp` and once when an
 * upstream answers 401 (a token revoked or expired early). Logins are
 * coalesced; the key and tokens never reach a message.
 * @throws SipError `SIP_UNAUTHORIZED` when the login is refused, `SIP_AGENT_UPSTREAM_FAILED` when it cannot be made.
 */
export function serviceAccountAuth(init: ServiceAccountInit): UpstreamAuth {
  const now = init.now ?? Date.now;
  const url = `${init.clusterUrl.replace(/\/+$/, '')}/acs/api/v1/auth/login`;
  let current: { header: string; renewAt: number } | undefined;
  let inflight: Promise<void> | undefined;
  const login = (): Promise<void> =>
    (inflight ??= (async () => {
      const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
      const claims = b64url(JSON.stringify({ uid: init.uid, exp: Math.floor(now() / 1000) + 300 }));
      let signature: string;
      try {
        signature = b64url(sign('RSA-SHA256', Buffer.from(`${header}.${claims}`), init.privateKey));
      } catch {
        throw new SipError('SIP_AGENT_CONFIG_INVALID', `the private key of service account ${init.uid} cannot sign (an RSA key in PEM is needed)`, {
          expose: true,
        });
      }
      let res;
      try {
        res = await sendRequest(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ uid: init.uid, token: `${header}.${claims}.${signature}` }),
          timeoutMs: init.timeoutMs ?? 10_000,
        });
      } catch (err) {
        throw new SipError(
          'SIP_AGENT_UPSTREAM_FAILED',
          `the login of service account ${init.uid} at ${url} could not be made (${(err as { code?: string }).code ?? (err as Error).message})`,
          { expose: true },
        );
      }
      const token = (res.json as { token?: unknown } | undefined)?.token;
      if (res.status !== 200 || typeof token !== 'string') {
        throw new SipError(
          'SIP_UNAUTHORIZED',
          `the login of service account ${init.uid} was refused (HTTP ${res.status}${typeof (res.json as { description?: unknown })?.description === 'string' ? `: ${(res.json as { description: string }).description}` : ''})`,
          { expose: true },
        );
      }
      const t = now();
      const exp = expiryOf(token) ?? t + 3_600_000;
      const margin = init.refreshBeforeMs ?? Math.min(600_000, Math.max(1000, (exp - t) / 10));
      current = { header: `token=${token}`, renewAt: exp - margin };
    })().finally(() => (inflight = undefined)));
  return {
    describe: `service account ${init.uid}`,
    async header() {
      if (!current || now() >= current.renewAt) await login();
      return current!.header;
    },
    async renew(rejected) {
      if (current && current.header !== rejected) return true; // renewed meanwhile
      current = undefined;
      await login();
      return true;
    },
  };
}
