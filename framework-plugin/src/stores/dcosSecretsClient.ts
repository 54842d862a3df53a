import { SipError } from '../core/errors/SipError.js';
import { sendRequest } from '../net/httpRequest.js';
import { tokenAuth, type UpstreamAuth } from '../net/upstreamAuth.js';
import { codeForStatus } from '../core/errors/catalogue.js';
import { SecretErrorCode, SecretStoreError } from '../core/secrets/errors.js';
import { canonicalSecretFolder, canonicalSecretPath } from '../core/secrets/secretPath.js';
import type { SecretStore } from '../core/secrets/SecretStore.js';

/** User options of {@link createDcosSecretsClient}. */
export interface DcosSecretsClientInit {
  /** Cluster URL, e.g. `https://dcos.example.com` (or the local cluster's secrets API). */
  url: string;
  /** ACS token (`dcos config show core.dcos_acs_token`). */
  token?: string;
  /** Any other way in (a renewing service-account login); wins over `token`. */
  auth?: UpstreamAuth;
  /** Store name. Default `default` (the only one DC/OS supports). */
  store?: string;
  /** Per-request timeout, ms. Default 10 000. */
  timeoutMs?: number;
}

/** What the Secrets API's error statuses stand for (the statuses come from the catalogue). */
const ANSWERS = [
  SecretErrorCode.notFound,
  SecretErrorCode.exists,
  SecretErrorCode.unauthorized,
  SecretErrorCode.tooLarge,
  SecretErrorCode.invalidValue,
] as const;

const encodePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

/**
 * A {@link SecretStore} on the DC/OS Secrets API
 * (`/secrets/v1/secret/<store>/<path>`), for a real cluster or the local one.
 * HTTP statuses become the store's typed errors (404 → not found, 409 →
 * exists, 401/403 → unauthorized, 413 → too large).
 */
export function createDcosSecretsClient(init: DcosSecretsClientInit): SecretStore {
  const base = `${init.url.replace(/\/+$/, '')}/secrets/v1/secret/${encodeURIComponent(init.store ?? 'default')}/`;
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  const auth = init.auth ?? (init.token ? tokenAuth(init.token) : undefined);
  const timeoutMs = init.timeoutMs ?? 10_000;

  const call = async (method: 'get' | 'put' | 'patch' | 'delete', path: string, what: string, data?: unknown, params?: Record<string, string>) => {
    let res;
    try {
      const query = params ? `?${new URLSearchParams(params).toString()}` : '';
      const body = data === undefined ? undefined : JSON.stringify(data);
      res = await sendRequest(`${base}${encodePath(path)}${query}`, {
        method: method.toUpperCase(),
        headers,
        timeoutMs,
        ...(auth ? { auth } : {}),
        ...(body !== undefined ? { body } : {}),
      });
    } catch (err) {
      // Refused before sending (an untrusted upstream, a failed login): its own reason.
      const why = err instanceof SipError ? err.message : `is unreachable: ${(err as { code?: string }).code ?? (err as Error).message}`;
      throw new SecretStoreError(SecretErrorCode.unavailable, `secrets API at ${init.url} ${why}`, {
        cause: err,
      });
    }
    if (res.status < 300) return res.json;
    const code = codeForStatus(res.status, ANSWERS, SecretErrorCode.unavailable);
    const detail = typeof (res.json as { message?: unknown } | undefined)?.message === 'string' ? `: ${(res.json as { message: string }).message}` : '';
    throw new SecretStoreError(code, `${what} failed with HTTP ${res.status}${detail}`);
  };

  return {
    async get(raw) {
      const path = canonicalSecretPath(raw);
      const data = await call('get', path, `reading secret "${path}"`);
      const value = (data as { value?: unknown })?.value;
      if (typeof value !== 'string') throw new SecretStoreError(SecretErrorCode.unavailable, `secret "${path}": the API answered without a text value`);
      return value;
    },
    async create(raw, value) {
      const path = canonicalSecretPath(raw);
      await call('put', path, `creating secret "${path}"`, { value });
    },
    async update(raw, value) {
      const path = canonicalSecretPath(raw);
      await call('patch', path, `updating secret "${path}"`, { value });
    },
    async delete(raw) {
      const path = canonicalSecretPath(raw);
      await call('delete', path, `deleting secret "${path}"`);
    },
    async list(raw) {
      const folder = canonicalSecretFolder(raw);
      const data = await call('get', folder, `listing secrets under "${folder}"`, undefined, { list: 'true' });
      const array = (data as { array?: unknown })?.array;
      if (!Array.isArray(array) || !array.every((x) => typeof x === 'string')) {
        throw new SecretStoreError(SecretErrorCode.unavailable, 'the API answered a list without an "array" of strings');
      }
      return [...array].sort();
    },
  };
}
