import { SipError } from '../../core/errors/SipError.js';
import { listenerOwnersOf } from '../../net/listenerOwner.js';
import type { UpstreamAuth } from '../../net/upstreamAuth.js';

/** How the agent decides it may send its credential to an upstream. */
export interface UpstreamTrust {
  /** Plain HTTP to a non-loopback upstream is allowed (`--insecure-http`). */
  insecureHttp: boolean;
  /** Uids besides root that may hold a loopback upstream's port (`--upstream-uid`). */
  allowedUids: readonly number[];
  /** Where `/proc` is (tests). */
  proc?: string;
  /** Who listens where a connection to `host:port` would go, asked of the kernel; `/proc/net/tcp` otherwise or when it fails. */
  listenerOwners?: (host: string, port: number) => Promise<number[]>;
}

const loopbackHost = (host: string): string | undefined => (host === 'localhost' ? '127.0.0.1' : /^127\.\d+\.\d+\.\d+$/.test(host) ? host : undefined);

/**
 * Checks an upstream URL at start: https, or http to loopback (guarded, see
 * {@link guardLoopback}), or http elsewhere only with `insecureHttp`.
 * @throws SipError `SIP_AGENT_CONFIG_INVALID` naming the URL and the fix.
 */
export function checkUpstreamUrl(what: string, url: string, trust: UpstreamTrust): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SipError('SIP_AGENT_CONFIG_INVALID', `${what} ${url} is not a URL`, { expose: true });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SipError('SIP_AGENT_CONFIG_INVALID', `${what} ${url}: use http or https`, { expose: true });
  if (u.protocol === 'http:' && !loopbackHost(u.hostname) && !trust.insecureHttp) {
    throw new SipError(
      'SIP_AGENT_CONFIG_INVALID',
      `${what} ${url} is plain HTTP off this host: the agent's credential would cross the network in clear; use https (with --ca-file for the cluster's CA) or pass --insecure-http`,
      { expose: true },
    );
  }
  return u;
}

/**
 * Wraps an upstream's credential (or none) so that nothing is sent to, or
 * believed from, a loopback port not held by root (or an allowed uid): where
 * nothing listens (Mesos bound to the node's address, Marathon on the
 * masters) a task could bind the port, catch the credential and answer with
 * whatever maps its container to a victim. Checked before every request,
 * with the kernel's listening sockets. Non-loopback upstreams are returned as they are.
 */
export function guardLoopback(what: string, url: URL, auth: UpstreamAuth | undefined, trust: UpstreamTrust): UpstreamAuth | undefined {
  const host = loopbackHost(url.hostname);
  if (!host) return auth;
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const allowed = new Set([0, ...trust.allowedUids]);
  const check = async (): Promise<void> => {
    const fromTables = (): Promise<number[]> => listenerOwnersOf(host, port, trust.proc);
    const owners = await (trust.listenerOwners ? trust.listenerOwners(host, port).catch(fromTables) : fromTables());
    if (owners.length === 0)
      throw new SipError('SIP_AGENT_UPSTREAM_FAILED', `${what} ${url.origin}: nothing listens there; the credential was not sent`, { expose: true });
    const stranger = owners.find((uid) => !allowed.has(uid));
    if (stranger !== undefined) {
      throw new SipError(
        'SIP_AGENT_UPSTREAM_FAILED',
        `${what} ${url.origin} is held by uid ${stranger}, not root${trust.allowedUids.length ? ` or ${trust.allowedUids.join(', ')}` : ''}: a process there could stand in for it; the credential was not sent (--upstream-uid to allow)`,
        { expose: true },
      );
    }
  };
  return {
    describe: auth?.describe ?? 'no credentials',
    async header() {
      await check();
      return auth?.header();
    },
    renew: (rejected) => auth?.renew(rejected) ?? Promise.resolve(false),
  };
}
