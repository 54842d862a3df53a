import { CREDENTIALS_PATH, taskToken } from './taskToken.js';
import { TASK_TOKEN_FILE } from './tokenWriter.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmod, rm } from 'node:fs/promises';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AssumeRequest, CacheStats, CredentialCache, RoleCredentials } from '../../core/agent/credentialCache.js';
import { AgentError } from '../../core/agent/errors.js';
import { assumeRequestOf, ecsCredentialsBody } from '../../core/agent/ecsCredentials.js';
import { publicError } from '../../core/errors/SipError.js';
import type { AppRoles, TaskRole } from './appRole.js';
import { createDenialThrottle } from './denialThrottle.js';
import type { Caller, TaskLocator } from './taskLocator.js';

/** A denial as the agent reports it (audit, events on the app). Never a credential. */
export interface Denial {
  readonly appId?: string;
  readonly taskId?: string;
  readonly roleArn?: string;
  readonly code: string;
  readonly reason: string;
}

/** Ports and options of {@link createAgentHandler}. */
export interface AgentDeps {
  locator: TaskLocator;
  /** Deciding here: the role directory and the credential cache (absent when `remote` decides). */
  roles?: AppRoles;
  cache?: CredentialCache;
  /** Deciding elsewhere (`sip server`): the task id goes there, credentials come back; the server decides. */
  remote?: { credentialsFor(taskId: string, frameworkId: string): Promise<{ credentials: RoleCredentials; roleArn: string; cached: boolean }> };
  /** Audit lines (one per issue and per denial) go here. */
  logger: Logger;
  /**
   * Key of the per-task tokens (`HMAC-SHA256(key, taskId)`, base64url) sip
   * agent writes into each task's sandbox (`.sip-task-token`, which
   * `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` names). When set, a request must
   * carry its task's token; without, the connection alone decides.
   */
  taskTokenKey?: Buffer;
  /** Called for every denial (the local cluster turns them into events on the app). */
  onDenied?: (denial: Denial) => void;
  /** Metrics registry; default a new one. */
  registry?: Registry;
}

/** True when the request's Host names the address it reached (or localhost) on the port it reached. */
function ownHost(req: IncomingMessage): boolean {
  const host = req.headers.host;
  if (!host) return false;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  if (!m || Number(m[2] ?? 80) !== req.socket.localPort) return false;
  const name = m[1]!.replace(/^\[|\]$/g, '').toLowerCase();
  const local = (req.socket.localAddress ?? '').replace(/^::ffff:/, '');
  return name === local || name === 'localhost';
}

/** The agent's HTTP handler and its metrics registry. */
export interface AgentHandler {
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  readonly registry: Registry;
  /** Counts a connection refused for its caller's quota (`sip_agent_connections_refused_total`). */
  readonly connectionRefused: (uid: number) => void;
}

/** The agent's Prometheus metrics in `registry`: its own counters, and the cache's read when scraped. */
function agentMetrics(
  registry: Registry,
  cache: Pick<CredentialCache, 'stats'> | undefined,
): { issued: Counter<'cached'>; denied: Counter<'code'>; latency: Histogram; refusedConnections: Counter } {
  collectDefaultMetrics({ register: registry, prefix: 'sip_agent_' });
  const issued = new Counter({
    name: 'sip_agent_credentials_issued_total',
    help: 'Credentials answered to tasks',
    labelNames: ['cached'],
    registers: [registry],
  });
  const denied = new Counter({ name: 'sip_agent_denials_total', help: 'Requests refused, by code', labelNames: ['code'], registers: [registry] });
  const latency = new Histogram({
    name: 'sip_agent_request_duration_seconds',
    help: 'Time to answer a credentials request',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25, 1, 5],
    registers: [registry],
  });
  // The cache's own counters, read when Prometheus scrapes.
  const fromCache: Array<[string, string, keyof CacheStats]> = [
    ['sip_agent_sts_calls_total', 'AssumeRole calls made', 'stsCalls'],
    ['sip_agent_sts_failures_total', 'AssumeRole calls that failed', 'stsFailures'],
    ['sip_agent_cache_hits_total', 'Requests answered from the cache', 'hits'],
  ];
  for (const [name, help, stat] of fromCache) {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(cache?.stats()[stat] ?? 0);
      },
    });
  }

  const refusedConnections = new Counter({
    name: 'sip_agent_connections_refused_total',
    help: 'Connections closed at once: the caller uid held its quota',
    registers: [registry],
  });
  return { issued, denied, latency, refusedConnections };
}

/** Denials audited (and reported to `onDenied`): per code and app, ten a second whole, the rest counted. */
function denialAudit(deps: Pick<AgentDeps, 'logger' | 'onDenied'>): { deny(d: Denial & { remote: string }): void } {
  // Under a flood, the audit and the events stay readable: per code and app, ten a second whole, the rest counted.
  return createDenialThrottle<Denial & { remote: string }>(
    {
      report(d) {
        deps.logger.warn({ audit: { decision: 'deny', ...d } }, 'credentials denied');
        const { remote: _remote, ...denial } = d;
        deps.onDenied?.(denial);
      },
      summary(d, count) {
        deps.logger.warn(
          { audit: { decision: 'deny', code: d.code, ...(d.appId ? { appId: d.appId } : {}), suppressed: count } },
          `${count} more denials like this in the last second`,
        );
      },
    },
    (d) => `${d.code}\n${d.appId ?? ''}`,
  );
}

// Per task (and its decision), the STS request is built once; per credentials, the answer is serialised once.
const requests = new WeakMap<TaskRole, AssumeRequest>();
/** The STS request for a task's decision, built once per decision. */
function requestFor(t: TaskRole, taskId: string): AssumeRequest {
  let r = requests.get(t);
  if (!r) {
    r = assumeRequestOf(t.app.id, t.role, taskId);
    requests.set(t, r);
  }
  return r;
}
const bodies = new WeakMap<RoleCredentials, Buffer>();
/** The ECS answer for a set of credentials, serialised once. */
function bodyOf(c: RoleCredentials, role: string): Buffer {
  let b = bodies.get(c);
  if (!b) {
    b = ecsCredentialsBody(c, role);
    bodies.set(c, b);
  }
  return b;
}
function sendBody(res: ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, 'cache-control': 'no-store' });
  res.end(body);
}
function send(res: ServerResponse, status: number, body: unknown): void {
  sendBody(res, status, Buffer.from(JSON.stringify(body)));
}

/**
 * The calling task's credentials: from sip server (which decides from the
 * masters' view; this agent only says which task calls), or decided here
 * (role directory, credential cache). `onRole` learns the role as soon as
 * it is known (for the denial record). Audits an issue, never a credential.
 */
async function grant(deps: AgentDeps, caller: Caller, onRole: (roleArn: string) => void): Promise<{ body: Buffer; cached: boolean }> {
  if (deps.remote) {
    const served = await deps.remote.credentialsFor(caller.taskId, caller.frameworkId);
    onRole(served.roleArn);
    if (!served.cached) {
      const audit = {
        decision: 'issue',
        via: 'sip server',
        appId: caller.appId,
        taskId: caller.taskId,
        roleArn: served.roleArn,
        expires: served.credentials.expiration.toISOString(),
      };
      deps.logger.info({ audit }, 'credentials issued');
    }
    return { body: bodyOf(served.credentials, served.roleArn), cached: served.cached };
  }
  const taskRole = await deps.roles!.roleFor(caller);
  onRole(taskRole.role.roleArn);
  const request = requestFor(taskRole, caller.taskId);
  const { credentials, cached } = await deps.cache!.get(request);
  // The audit line: who got which role as which session; never a credential.
  if (!cached) auditIssue(deps.logger, taskRole, caller.taskId, request, credentials);
  return { body: bodyOf(credentials, taskRole.role.roleArn), cached };
}

/** One audit line per credentials issued (not per cached answer): app, task, role, session, expiry; never a credential. */
function auditIssue(logger: Logger, taskRole: TaskRole, taskId: string, request: AssumeRequest, credentials: RoleCredentials): void {
  const audit = {
    decision: 'issue',
    appId: taskRole.app.id,
    taskId,
    roleArn: request.roleArn,
    session: request.sessionName,
    expires: credentials.expiration.toISOString(),
  };
  logger.info({ audit }, 'credentials issued');
}

/**
 * The tokens of the tasks the Mesos agent runs, token → task id, rebuilt when
 * the task list changes; a miss asks for the list again (at most one call per
 * 100 ms), which also has a just-started task's token written.
 */
function tokenIndex(deps: Pick<AgentDeps, 'locator' | 'taskTokenKey'>): {
  known(header: string): string | undefined;
  taskOf(header: string | undefined): Promise<string | undefined>;
} {
  let tokens = new Map<string, string>();
  let tokensOf: readonly string[] | undefined;
  return {
    known: (header) => tokens.get(header),
    async taskOf(header) {
      if (header !== undefined && header.length > 100) return undefined;
      const hit = header === undefined ? undefined : tokens.get(header);
      if (hit !== undefined) return hit;
      const ids = await deps.locator.taskIds(true);
      if (header === undefined) return undefined;
      if (ids !== tokensOf) {
        tokens = new Map(ids.map((id) => [taskToken(deps.taskTokenKey!, id), id]));
        tokensOf = ids;
      }
      return tokens.get(header);
    },
  };
}

/**
 * The ECS container-credentials protocol for Mesos tasks: `GET
 * /v1/credentials` answers `{AccessKeyId, SecretAccessKey, Token,
 * Expiration, RoleArn}` for the calling task's app role, which every AWS SDK's
 * default chain reads through `AWS_CONTAINER_CREDENTIALS_FULL_URI`. Who calls
 * is found from the connection (never from anything the caller says); the
 * token, when tokens are on, must also match. Denials answer 403, STS
 * trouble 503, both as JSON `{code, message}` with the reason.
 */
export function createAgentHandler(deps: AgentDeps): AgentHandler {
  if (!deps.remote && !(deps.roles && deps.cache)) throw new Error('createAgentHandler: give roles and cache, or remote');
  const registry = deps.registry ?? new Registry();
  const { issued, denied, latency, refusedConnections } = agentMetrics(registry, deps.cache);

  const denials = denialAudit(deps);
  const issuedCached = issued.labels({ cached: 'true' });
  const issuedFresh = issued.labels({ cached: 'false' });
  const hostOf = new WeakMap<Socket, string>();
  const tokens = tokenIndex(deps);

  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    let caller: Caller | undefined;
    let roleArn: string | undefined;
    try {
      // No deputies: a request must be addressed to the agent itself (DNS rebinding sends a foreign Host,
      // an open proxy the absolute form), so a page or a forwarding service cannot lend a task's role.
      if (!(req.url ?? '').startsWith('/') || (hostOf.get(req.socket) !== req.headers.host && !ownHost(req))) {
        throw new AgentError(
          'SIP_AGENT_FOREIGN_HOST',
          `requests must be addressed to the agent itself (Host ${req.socket.localAddress}:${req.socket.localPort} or localhost), not through a proxy or another name`,
        );
      }
      hostOf.set(req.socket, req.headers.host!); // a keep-alive connection's next request with the same Host skips the parse
      const path = (req.url ?? '').split('?')[0];
      if (req.method !== 'GET' || path !== CREDENTIALS_PATH)
        return send(res, 404, { Code: 'SIP_URI_NOT_SUPPORTED', Message: `only GET ${CREDENTIALS_PATH} is served` });
      // With tokens on, a request without a running task's token is refused before any /proc lookup:
      // a flood of anonymous or forged requests costs a map lookup each.
      const header = req.headers.authorization;
      const tokenTask = deps.taskTokenKey ? (header !== undefined && tokens.known(header)) || (await tokens.taskOf(header)) : undefined;
      if (deps.taskTokenKey && tokenTask === undefined) {
        throw new AgentError(
          'SIP_AGENT_TOKEN_INVALID',
          `the request carries no token of a running task: sip agent writes each task's into its sandbox (${TASK_TOKEN_FILE}) once the Mesos agent lists it; AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE names it`,
        );
      }
      caller = await deps.locator.locate(req.socket);
      // The token must be the calling task's own, not another running task's.
      if (deps.taskTokenKey && tokenTask !== caller.taskId) {
        throw new AgentError(
          'SIP_AGENT_TOKEN_INVALID',
          `the request does not carry the token of task ${caller.taskId} (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)`,
        );
      }
      const granted = await grant(deps, caller, (arn) => (roleArn = arn));
      sendBody(res, 200, granted.body);
      (granted.cached ? issuedCached : issuedFresh).inc();
    } catch (err) {
      const { status, code, message } = publicError(err);
      const denial: Denial = {
        code: code ?? 'internal',
        reason: message,
        ...(caller ? { appId: caller.appId, taskId: caller.taskId } : {}),
        ...(roleArn ? { roleArn } : {}),
      };
      denied.inc({ code });
      denials.deny({ ...denial, remote: `${req.socket.remoteAddress}:${req.socket.remotePort}` });
      // The ECS protocol's error shape (what the AWS SDKs read: Code, Message); the catalogue's code and reason.
      send(res, status, { Code: code ?? 'internal', Message: message });
    } finally {
      latency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
  return {
    registry,
    connectionRefused: () => refusedConnections.inc(),
    handle: (req, res) => {
      void answer(req, res);
    },
  };
}

/** Where a server listens: loopback TCP, or a Unix socket (mode 0600). */
export type ListenAt = { host: string; port: number } | { socket: string };

/** A listening agent. */
export interface AgentServer {
  /** `http://host:port`, or `unix:/path` for a Unix socket. */
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** At most `maxPerUid` open connections per caller uid (found by `uidOf`); the rest are closed at once. */
export interface ConnectionQuota {
  maxPerUid: number;
  uidOf(socket: Socket): Promise<number | undefined>;
  /** A connection refused for its uid (counted, not logged one by one). */
  onRefused?(uid: number): void;
}

/** How long a connection may sit without a request in flight before it is closed, ms. */
const IDLE_MS = 5_000;

/**
 * Serves a handler on loopback TCP (port 0 = a free one) or on a Unix socket
 * (created mode 0600, for root only: metrics no task may read). Bounded, so a
 * neighbour holding sockets open cannot starve the others: at most
 * `quota.maxPerUid` connections per caller uid (8192 in all; 1024 without a
 * quota); a connection with no request in flight is closed after 5 s
 * of silence (also one that never sends a byte); headers must arrive within
 * 5 s and a request end within 10 s.
 */
export async function listenAgent(handle: (req: IncomingMessage, res: ServerResponse) => void, at: ListenAt, quota?: ConnectionQuota): Promise<AgentServer> {
  const server = createServer(
    { keepAliveTimeout: IDLE_MS, headersTimeout: IDLE_MS, requestTimeout: 10_000, maxHeaderSize: 8192, connectionsCheckingInterval: 1000 },
    handle,
  );
  // A high ceiling: the per-uid quota is what keeps one tenant from taking the others' share.
  server.maxConnections = quota ? 8192 : 1024;
  if (quota) {
    // Per caller uid: one tenant's flood of connections leaves room for the others.
    const perUid = new Map<number, number>();
    server.on('connection', (socket: Socket) => {
      void quota.uidOf(socket).then((uid) => {
        if (uid === undefined || socket.destroyed) return;
        const n = (perUid.get(uid) ?? 0) + 1;
        if (n > quota.maxPerUid) {
          quota.onRefused?.(uid);
          return void socket.destroy();
        }
        perUid.set(uid, n);
        socket.once('close', () => {
          const left = (perUid.get(uid) ?? 1) - 1;
          if (left > 0) perUid.set(uid, left);
          else perUid.delete(uid);
        });
      });
    });
  }
  // Node's own timeout handling destroys a socket nobody claims, even mid-request (a slow STS call): the
  // server claims every timeout and closes only connections with no response pending (Node keeps the
  // pending response on the socket from the request's arrival until it is finished).
  server.on('connection', (socket: Socket) => socket.setTimeout(IDLE_MS));
  server.on('timeout', (socket: Socket & { _httpMessage?: unknown }) => {
    if (!socket._httpMessage) socket.destroy();
  });
  if ('socket' in at) {
    await rm(at.socket, { force: true });
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(at.socket, () => resolve());
      });
    } finally {
      process.umask(old);
    }
    await chmod(at.socket, 0o600);
  } else {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // A deep accept queue: a burst of a thousand connects while the loop is busy must wait there, not
      // overflow into half-open connections the server never sees (and so can never time out).
      server.listen({ port: at.port, host: at.host, backlog: 4096 }, () => resolve());
    });
  }
  const a = server.address();
  return {
    url: 'socket' in at ? `unix:${at.socket}` : `http://${at.host}:${(a as AddressInfo).port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
