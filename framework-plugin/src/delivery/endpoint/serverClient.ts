import type { STSClientConfig } from '@aws-sdk/client-sts';
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { SipError } from '../../core/errors/SipError.js';
import type { RoleCredentials } from '../../core/agent/credentialCache.js';
import { newKeyPair } from '../server/certificates.js';
import { KEY_HEADER, keyDigest } from '../server/credentialServer.js';
import { signNodeProof } from '../server/nodeProof.js';

/** How an agent reaches its servers. */
export interface ServerClientInit {
  /** The replicas (`https://host:port`), tried in turn: the first that answers is used until it fails. */
  readonly urls: readonly string[];
  /**
   * Which replica is tried first (an index, taken modulo their number).
   * Default 0; `sip agent` derives it from its node's address, so the
   * agents spread over the replicas (each replica's STS budget is its own).
   */
  readonly start?: number;
  /** The servers' CA (PEM): their serving certificates and the agent's own are its. */
  readonly caPem: string;
  /** The servers' name in node proofs. */
  readonly audience: string;
  /** STS as the node's SDK reaches it (region, endpoint, credentials; default chain: the instance profile). */
  readonly sts?: STSClientConfig;
  /** Renew the certificate this long before the server's `renewAt` at the latest. */
  readonly now?: () => number;
  /** Cached credentials are used until this long before they expire. Default 5 minutes. */
  readonly refreshBeforeMs?: number;
  readonly timeoutMs?: number;
  /** A lasting refusal (another node's task, not Marathon's, no role) is remembered this long, ms: a task repeating it costs the servers nothing. Default 5 s. */
  readonly deniedMs?: number;
}

/** Refusals that a retry within seconds would only repeat (a task not yet listed as running is asked again at once). */
const LASTING = new Set(['SIP_SERVER_NOT_ON_NODE', 'SIP_SERVER_NOT_MARATHON', 'SIP_AGENT_NO_ROLE']);

/** What the server handed for a task. */
export interface ServedCredentials {
  readonly credentials: RoleCredentials;
  readonly roleArn: string;
  /** From this agent's cache (no server call). */
  readonly cached: boolean;
}

/** An agent's side of `sip server`. */
export interface ServerClient {
  /**
   * Credentials for a task this agent located (its id and the framework of
   * the container it was found in: task ids are unique only within a
   * framework), from the cache or a server; the server decides.
   */
  credentialsFor(taskId: string, frameworkId: string): Promise<ServedCredentials>;
  /** Forgets a task's credentials (it ended). */
  forgetTask(taskId: string): void;
  /** The tasks it holds credentials for. */
  tasks(): Set<string>;
  /** Which replica answered last. */
  current(): string;
}

type Answer = { status: number; body: any };
/** The agent's certificate, its key, when to renew it and when it expires (epoch ms). */
type Identity = { cert: string; key: string; renewAt: number; expiresAt: number };

/** A JSON POST over TLS to one replica (with the agent's certificate for mutual TLS, when given). */
function postJson(url: string, path: string, body: unknown, ca: string, timeoutMs: number, client?: { cert: string; key: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path,
        method: 'POST',
        ca,
        ...(client ?? {}),
        headers: { 'content-type': 'application/json' },
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || 'null') });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: null });
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** A server's refusal as the error the agent answers with: its catalogue code and message. */
const refused = (a: Answer): SipError =>
  new SipError(
    typeof a.body?.Code === 'string' && /^SIP_[A-Z_]+$/.test(a.body.Code) ? a.body.Code : 'SIP_SERVER_UPSTREAM_FAILED',
    String(a.body?.Message ?? `HTTP ${a.status}`),
    {
      expose: true,
    },
  );

/**
 * The agent's certificate from the servers: one login at a time; a
 * certificate due for renewal is still used while it is valid, renewed in the
 * background at most every 30 s (a failed renewal, STS or the servers down a
 * moment, costs nothing yet); `fresh` logs in again at once (the server refused it).
 */
function agentIdentity(
  init: ServerClientInit,
  call: (path: string, body: () => Promise<unknown>) => Promise<Answer>,
  now: () => number,
): (fresh?: boolean) => Promise<{ cert: string; key: string }> {
  let identity: Identity | undefined;
  const login = async (): Promise<Identity> => {
    const keys = await newKeyPair();
    // A fresh proof per attempt (each replica refuses a proof seen before).
    const a = await call('/v1/login', async () => ({
      proof: await signNodeProof(init.audience, init.sts ?? {}, { [KEY_HEADER]: keyDigest(keys.publicKeyPem) }),
      publicKey: keys.publicKeyPem,
    }));
    if (a.status !== 200 || typeof a.body?.certificate !== 'string') throw refused(a);
    const cert = a.body.certificate as string;
    return { cert, key: keys.privateKeyPem, renewAt: Date.parse(a.body.renewAt), expiresAt: Date.parse(new X509Certificate(cert).validTo) };
  };
  // One login at a time; a certificate due for renewal is still used while it is valid, renewed in the
  // background at most every 30 s (a failed renewal, STS or the servers down a moment, costs nothing yet).
  let renewing: Promise<Identity> | undefined;
  let nextRenewal = 0;
  const renew = (): Promise<Identity> =>
    (renewing ??= login()
      .then((id) => (identity = id))
      .finally(() => (renewing = undefined)));
  const certificate = async (fresh = false): Promise<{ cert: string; key: string }> => {
    const t = now();
    if (!fresh && identity && identity.expiresAt > t + 60_000) {
      if (identity.renewAt <= t && t >= nextRenewal) {
        nextRenewal = t + 30_000;
        renew().catch(() => undefined);
      }
      return identity;
    }
    return renew();
  };
  return certificate;
}

/**
 * The agent's client of `sip server`: logs in with a node proof binding a
 * key made here (the private key never leaves the node), keeps the client
 * certificate and logs in again when it is due or refused, asks for a task's
 * credentials over mutual TLS, caches what it was handed until shortly
 * before expiry (one call per task at a time), and fails over to the next
 * replica when one cannot be reached.
 * @throws SipError the server's refusal (its `Code` and `Message`), or
 *   `SIP_SERVER_UPSTREAM_FAILED` when no replica answers.
 */
export function createServerClient(init: ServerClientInit): ServerClient {
  const now = init.now ?? Date.now;
  const margin = init.refreshBeforeMs ?? 5 * 60_000;
  let at = Math.abs(Math.trunc(init.start ?? 0)) % Math.max(init.urls.length, 1);
  const cache = new Map<string, { until: number; served: Promise<ServedCredentials> }>();

  const post = (url: string, path: string, body: unknown, client?: { cert: string; key: string }): Promise<Answer> =>
    postJson(url, path, body, init.caPem, init.timeoutMs ?? 5000, client);

  /** A call to the replica in use, then the others: an unreachable replica is passed over. */
  const call = async (path: string, body: () => Promise<unknown>, client?: { cert: string; key: string }): Promise<Answer> => {
    let last: Error | undefined;
    for (let i = 0; i < init.urls.length; i++) {
      const n = (at + i) % init.urls.length;
      try {
        const answer = await post(init.urls[n]!, path, await body(), client);
        at = n;
        return answer;
      } catch (err) {
        last = err as Error;
      }
    }
    throw new SipError('SIP_SERVER_UPSTREAM_FAILED', `no sip server answers (${init.urls.join(', ')}): ${last?.message ?? 'none configured'}`, {
      expose: true,
    });
  };
  const certificate = agentIdentity(init, call, now);

  const fetchFor = async (taskId: string, frameworkId: string): Promise<ServedCredentials> => {
    let a = await call('/v1/credentials', async () => ({ taskId, frameworkId }), await certificate());
    // A certificate the server no longer takes (expired, another CA after a rotation): log in again, once.
    if (a.body?.Code === 'SIP_SERVER_CERT_INVALID') a = await call('/v1/credentials', async () => ({ taskId, frameworkId }), await certificate(true));
    if (a.status !== 200) throw refused(a);
    const b = a.body as { AccessKeyId: string; SecretAccessKey: string; Token: string; Expiration: string; RoleArn: string };
    return {
      credentials: { accessKeyId: b.AccessKeyId, secretAccessKey: b.SecretAccessKey, sessionToken: b.Token, expiration: new Date(b.Expiration) },
      roleArn: b.RoleArn,
      cached: false,
    };
  };

  return {
    async credentialsFor(taskId, frameworkId) {
      // Per task and framework: another framework's executor named after a Marathon task shares nothing with it.
      const key = `${taskId}\n${frameworkId}`;
      const held = cache.get(key);
      if (held && held.until > now()) return { ...(await held.served), cached: true };
      const served = fetchFor(taskId, frameworkId);
      cache.set(key, { until: Infinity, served });
      try {
        const s = await served;
        // A task that ended meanwhile (forgotten) is not brought back.
        if (cache.get(key)?.served === served) cache.set(key, { until: s.credentials.expiration.getTime() - margin, served });
        return s;
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        if (cache.get(key)?.served !== served) {
          // forgotten meanwhile
        } else if (LASTING.has(code)) {
          served.catch(() => undefined);
          cache.set(key, { until: now() + (init.deniedMs ?? 5000), served });
        } else cache.delete(key);
        throw err;
      }
    },
    forgetTask(taskId) {
      for (const key of cache.keys()) if (key.startsWith(`${taskId}\n`)) cache.delete(key);
    },
    tasks: () => new Set([...cache.keys()].map((k) => k.split('\n')[0]!)),
    current: () => init.urls[at] ?? '',
  };
}
