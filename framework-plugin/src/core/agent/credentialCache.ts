import { AgentError } from './errors.js';

/** Temporary credentials for one role session. */
export interface RoleCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** Everything one AssumeRole call depends on: the cache key. */
export interface AssumeRequest {
  readonly roleArn: string;
  /** Part of the key: two apps with the same role but different external ids never share credentials. */
  readonly externalId: string;
  readonly sessionName: string;
  readonly sourceIdentity: string;
  readonly tags: Readonly<Record<string, string>>;
  /** The task the credentials are for: dropped when it ends. */
  readonly taskId: string;
  /** The app's `duration_seconds`, when its AWS config sets one (else the agent's `--duration`). */
  readonly durationSeconds?: number;
}

/** How an AssumeRole call failed, as the STS port reports it. */
export type AssumeFailure = { kind: 'denied'; message: string } | { kind: 'unavailable'; message: string };

/** What the STS port rejects with: the failure's kind and the catalogue's words (never STS's). */
export class AssumeRoleFailure extends Error {
  constructor(readonly failure: AssumeFailure) {
    super(failure.message);
    this.name = 'AssumeRoleFailure';
  }
}

/** Ports of {@link createCredentialCache}. */
export interface CredentialCacheDeps {
  /** Calls STS. Rejects with an {@link AssumeRoleFailure} (anything else counts as unavailable). */
  assume(request: AssumeRequest): Promise<RoleCredentials>;
  /** Epoch ms. */
  now(): number;
  /** [0, 1): spreads refreshes. Default Math.random. */
  random?: () => number;
  /** Refresh this long before expiry (plus up to half as much jitter). Default 5 minutes. */
  refreshBeforeMs?: number;
  /** A denial is remembered this long, doubling per repeat up to {@link CredentialCacheDeps.deniedMaxMs}. Default 5 s. */
  deniedMs?: number;
  deniedMaxMs?: number;
  /** At most this many STS calls per second; the rest wait their turn. Default 10. */
  maxCallsPerSecond?: number;
  /** Waits `ms` (the rate limiter's queue). Default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

/** What {@link CredentialCache.get} returns. */
export interface CacheAnswer {
  readonly credentials: RoleCredentials;
  /** Served from the cache (no STS call on this request's path). */
  readonly cached: boolean;
}

/** Counters for metrics. */
export interface CacheStats {
  stsCalls: number;
  stsFailures: number;
  hits: number;
  entries: number;
}

/** Per-session credentials: cached, refreshed ahead, one STS call in flight per key, rate-limited. */
export interface CredentialCache {
  /**
   * Credentials for `request`.
   * @throws AgentError `SIP_AGENT_DENIED` (STS refused; remembered briefly),
   *   `SIP_AGENT_STS_UNAVAILABLE` (STS unreachable and nothing valid cached).
   */
  get(request: AssumeRequest): Promise<CacheAnswer>;
  /** Forgets everything held for a task (it ended). */
  forgetTask(taskId: string): void;
  /** The tasks it holds credentials (or denials) for. */
  tasks(): Set<string>;
  stats(): CacheStats;
}

interface Entry {
  credentials?: RoleCredentials;
  refreshAt: number;
  inflight?: Promise<RoleCredentials>;
  denied?: { until: number; failures: number; message: string };
  taskId: string;
}

/** The cache key: role, external id and session name (kube2iam once keyed without the external id). */
const keyOf = (r: AssumeRequest): string => JSON.stringify([r.roleArn, r.externalId, r.sessionName]);

/**
 * The credential agent's cache, pure (time, randomness, STS and waiting are
 * injected):
 * - keyed by role ARN, external id and session name;
 * - served from cache until `refreshBeforeMs` (+ jitter) before expiry, then
 *   refreshed in the background while the old ones are still served;
 * - one AssumeRole in flight per key: concurrent callers share it;
 * - a denial is cached briefly with doubling backoff, so a hostile loop
 *   cannot turn into an STS storm;
 * - STS calls are capped per second, excess calls queue;
 * - when STS is unreachable, cached credentials are served until they
 *   expire, then {@link AgentError} `SIP_AGENT_STS_UNAVAILABLE`.
 */
export function createCredentialCache(deps: CredentialCacheDeps): CredentialCache {
  const entries = new Map<string, Entry>();
  const keys = new WeakMap<AssumeRequest, string>(); // a caller that reuses its request object skips re-serialising the key
  const random = deps.random ?? Math.random;
  const refreshBefore = deps.refreshBeforeMs ?? 5 * 60_000;
  const deniedMs = deps.deniedMs ?? 5_000;
  const deniedMax = deps.deniedMaxMs ?? 60_000;
  const perSecond = Math.max(1, deps.maxCallsPerSecond ?? 10);
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const stats: CacheStats = { stsCalls: 0, stsFailures: 0, hits: 0, entries: 0 };

  // Rate limit: call times within the last second; a caller over the cap waits for the oldest to age out.
  const recent: number[] = [];
  let turn: Promise<void> = Promise.resolve();
  const slot = (): Promise<void> => {
    const mine = turn.then(async () => {
      for (;;) {
        const t = deps.now();
        while (recent.length > 0 && recent[0]! <= t - 1000) recent.shift();
        if (recent.length < perSecond) {
          recent.push(t);
          return;
        }
        await sleep(recent[0]! + 1000 - t);
      }
    });
    turn = mine;
    return mine;
  };

  const valid = (c: RoleCredentials | undefined): c is RoleCredentials => c !== undefined && c.expiration.getTime() > deps.now();

  const call = (key: string, e: Entry, request: AssumeRequest): Promise<RoleCredentials> => {
    if (e.inflight) return e.inflight;
    const p = (async () => {
      await slot();
      stats.stsCalls++;
      try {
        const c = await deps.assume(request);
        const life = c.expiration.getTime() - deps.now();
        const ahead = Math.min(refreshBefore, life / 2);
        e.credentials = c;
        e.refreshAt = c.expiration.getTime() - ahead - random() * (ahead / 2);
        e.denied = undefined;
        return c;
      } catch (err) {
        stats.stsFailures++;
        const failure: AssumeFailure = err instanceof AssumeRoleFailure ? err.failure : { kind: 'unavailable', message: (err as Error).message };
        if (failure.kind === 'denied') {
          const failures = (e.denied?.failures ?? 0) + 1;
          e.denied = { failures, until: deps.now() + Math.min(deniedMax, deniedMs * 2 ** (failures - 1)), message: failure.message };
          e.credentials = undefined; // a role that now refuses is not served from an older grant
          throw new AgentError('SIP_AGENT_DENIED', `STS refused ${request.roleArn}: ${failure.message}`);
        }
        throw new AgentError(
          'SIP_AGENT_STS_UNAVAILABLE',
          `STS cannot be reached (${failure.message}) and no unexpired credentials are cached for ${request.roleArn}`,
        );
      } finally {
        e.inflight = undefined;
        if (!e.credentials && !e.denied) entries.delete(key);
        stats.entries = entries.size;
      }
    })();
    e.inflight = p;
    return p;
  };

  return {
    async get(request) {
      let key = keys.get(request);
      if (key === undefined) keys.set(request, (key = keyOf(request)));
      let e = entries.get(key);
      if (!e) {
        e = { refreshAt: 0, taskId: request.taskId };
        entries.set(key, e);
        stats.entries = entries.size;
      }
      const t = deps.now();
      if (e.denied && t < e.denied.until)
        throw new AgentError('SIP_AGENT_DENIED', `STS refused ${request.roleArn}: ${e.denied.message} (remembered; retried after backoff)`);
      if (valid(e.credentials)) {
        if (t >= e.refreshAt && !e.inflight) void call(key, e, request).catch(() => undefined); // served meanwhile; a failure keeps the old ones
        stats.hits++;
        return { credentials: e.credentials, cached: true };
      }
      return { credentials: await call(key, e, request), cached: false };
    },
    forgetTask(taskId) {
      for (const [k, e] of entries) if (e.taskId === taskId) entries.delete(k);
      stats.entries = entries.size;
    },
    tasks: () => new Set([...entries.values()].map((e) => e.taskId)),
    stats: () => ({ ...stats }),
  };
}
