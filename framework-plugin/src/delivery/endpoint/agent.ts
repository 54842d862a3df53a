import type { Logger } from 'pino';
import { installMetadataBlock, type MetadataBlock, type MetadataBlockSpec, type NftApply } from './metadataBlock.js';
import { nftCommand } from './nftables.js';
import { createTokenWriter } from './tokenWriter.js';
import { startSockDiag } from './sockDiag.js';
import { createDockerInspector } from '../../clients/docker/engineInspector.js';
import { createMarathonClient, type MarathonClient } from '../../clients/marathon/client.js';
import { createMesosAgentClient, type MesosAgentClient } from '../../clients/mesos/agentClient.js';
import { createCredentialCache, type CredentialCache } from '../../core/agent/credentialCache.js';
import type { RolePolicy } from '../../core/agent/policy.js';
import type { UpstreamAuth } from '../../net/upstreamAuth.js';
import { createDcosSecretsClient } from '../../stores/dcosSecretsClient.js';
import { createAgentHandler, listenAgent, type AgentServer, type Denial, type ListenAt } from './agentServer.js';
import { createAppRoles, type RoleSource } from './appRole.js';
import { createServerClient } from './serverClient.js';
import { createConnectionOwners } from './connectionOwners.js';
import { metricsHandler } from './metricsServer.js';
import { createStsAssumer } from './stsAssumer.js';
import { followTaskEnds } from './taskEnds.js';
import { createTaskLocator } from './taskLocator.js';
import { checkUpstreamUrl, guardLoopback, type UpstreamTrust } from './upstreamTrust.js';

/** The client of sip server's replicas; agents spread over them (each has its own STS budget): the first tried follows from the node's address. */
function serverClientOf(config: AgentConfig, servers: Extract<AgentConfig['roles'], { kind: 'server' }>): ReturnType<typeof createServerClient> {
  return createServerClient({ ...servers, start: spreadIndex(new URL(config.mesosAgentUrl).hostname, config.listen.host) });
}

/** A stable number from the node's addresses (its Mesos agent's, its own listening one): which sip server replica it asks first. */
function spreadIndex(...addresses: string[]): number {
  let h = 0;
  for (const c of addresses.join(' ')) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h;
}

/** Everything `sip agent` runs with, validated at the edge (`cli/agentCommand.ts`). */
export interface AgentConfig {
  /** Where tasks call (loopback). */
  listen: { host: string; port: number };
  /** Prometheus metrics (`GET /metrics`); off when absent. */
  metrics?: ListenAt;
  /** Marathon (on the masters; no default). */
  marathonUrl: string;
  /** This node's Mesos agent. */
  mesosAgentUrl: string;
  /**
   * Roles from each app's AWS config secret (the DC/OS Secrets API), from a
   * policy file, or decided by `sip server` (its replicas, their CA, their
   * name in node proofs): then this agent holds no secrets access and no role.
   */
  roles:
    | { kind: 'secrets'; secretsUrl: string }
    | { kind: 'policy'; policy: RolePolicy }
    | { kind: 'server'; urls: readonly string[]; caPem: string; audience: string };
  /** How the agent proves itself to Marathon, the Mesos agent and the Secrets API. */
  auth?: UpstreamAuth;
  /** Which upstreams may be sent the credential. */
  trust: UpstreamTrust;
  /** Mesos's `--cgroups_root`. */
  cgroupsRoot: string;
  /** The v1 hierarchies whose line must name a caller's container (default freezer and name=systemd, where Mesos's launcher puts every container). */
  cgroupHierarchies?: readonly string[];
  /** The Docker Engine socket, read-only, to resolve DOCKER tasks. */
  dockerSocket?: string;
  /** Key of the per-task tokens (`--require-task-token`): when set, sip agent writes each Marathon task's into its sandbox and every request must carry its task's. */
  taskTokenKey?: Buffer;
  durationSeconds: number;
  maxStsCallsPerSecond: number;
  /** Closes the metadata service to tasks (nftables) before serving; removed on stop, kept if the agent dies. */
  blockMetadata?: MetadataBlockSpec;
  /** Open connections one caller uid may hold (default 128); the agent takes 1024 in all. */
  maxConnectionsPerUid?: number;
}

/** A running agent. */
export interface RunningAgent {
  readonly url: string;
  readonly metricsUrl: string | undefined;
  stop(): Promise<void>;
}

/** The clients of Marathon, the Mesos agent and the secrets (or the policy), each guarded ({@link guardLoopback}). */
function upstreams(
  config: AgentConfig,
  logger: Logger,
): { marathon: MarathonClient; marathonAuth: UpstreamAuth | undefined; mesos: MesosAgentClient; source: RoleSource | undefined } {
  const guarded = (what: string, url: string): UpstreamAuth | undefined =>
    guardLoopback(what, checkUpstreamUrl(what, url, config.trust), config.auth, config.trust);
  const marathonAuth = guarded('Marathon', config.marathonUrl);
  const mesosAuth = guarded('the Mesos agent', config.mesosAgentUrl);
  const marathon = createMarathonClient({ url: config.marathonUrl, ...(marathonAuth ? { auth: marathonAuth } : {}) });
  const mesos = createMesosAgentClient({ url: config.mesosAgentUrl, ...(mesosAuth ? { auth: mesosAuth } : {}) });
  if (config.roles.kind === 'policy') return { marathon, marathonAuth, mesos, source: { kind: 'policy', policy: config.roles.policy } };
  if (config.roles.kind === 'server') return { marathon, marathonAuth, mesos, source: undefined };
  const secretsAuth = guarded('the Secrets API', config.roles.secretsUrl);
  const source: RoleSource = {
    kind: 'secrets',
    store: createDcosSecretsClient({ url: config.roles.secretsUrl, ...(secretsAuth ? { auth: secretsAuth } : {}) }),
    audit: (record) => logger.info({ audit: record }, 'secret access decision'),
  };
  return { marathon, marathonAuth, mesos, source };
}

/** A value asked once and shared, asked again after a failure (this agent's id). */
function onceAtATime<T>(ask: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= ask();
    pending.catch(() => (pending = undefined));
    return pending;
  };
}

/**
 * Installs `--block-metadata`'s table, where asked: the metadata service
 * closed to tasks and, with nftables in hand, the per-uid connection quota
 * enforced by the kernel too (not for a port chosen at listen, 0).
 */
async function closeMetadata(config: AgentConfig, maxPerUid: number, logger: Logger, nft: NftApply | undefined): Promise<MetadataBlock | undefined> {
  if (!config.blockMetadata) return undefined;
  const connectionQuota = config.listen.port > 0 ? { host: config.listen.host, port: config.listen.port, maxPerUid } : undefined;
  const block = await installMetadataBlock({ ...config.blockMetadata, ...(connectionQuota ? { connectionQuota } : {}) }, nft ?? nftCommand());
  const { targets, tasks } = config.blockMetadata;
  logger.info({ table: `inet ${block.table}`, targets, tasks, connectionQuota }, 'metadata service closed to tasks');
  return block;
}

/** The credential cache of an agent that decides itself: STS with the node's instance profile, capped. */
function localCache(config: AgentConfig, logger: Logger): CredentialCache {
  const assume = createStsAssumer({
    durationSeconds: config.durationSeconds,
    onFailure: (r, detail) => logger.warn({ roleArn: r.roleArn, session: r.sessionName, sts: detail }, 'AssumeRole failed'),
  });
  return createCredentialCache({ assume, now: Date.now, maxCallsPerSecond: config.maxStsCallsPerSecond });
}

/**
 * Wires and starts the credential agent of one Mesos agent: the upstream
 * clients (each guarded, see {@link guardLoopback}), the task locator, the
 * role directory, the credential cache, the ECS endpoint, the metrics
 * endpoint and the follower that drops an ended task's credentials.
 * @throws SipError `SIP_AGENT_CONFIG_INVALID` for an upstream it may not trust.
 */
export async function startAgent(config: AgentConfig, logger: Logger, hooks: { onDenied?: (d: Denial) => void; nft?: NftApply } = {}): Promise<RunningAgent> {
  // The kernel's socket lookups (python3 helpers; else /proc/net/tcp): who holds an upstream's port, who owns a
  // connection. Two helpers, each answering in turn: a request's questions never wait behind the quota's dumps.
  const diag = startSockDiag();
  const bulk = diag ? startSockDiag() : undefined;
  const trust = diag ? { ...config.trust, listenerOwners: diag.listenerOwners } : config.trust;
  const { marathon, marathonAuth, mesos, source } = upstreams({ ...config, trust }, logger);
  // Deciding here (a role source), or at sip server (which this agent proves its node to).
  const roles = source ? createAppRoles({ marathon, source, agentId: onceAtATime(() => mesos.getAgentId()) }) : undefined;
  const remote = config.roles.kind === 'server' ? serverClientOf(config, config.roles) : undefined;
  const maxPerUid = config.maxConnectionsPerUid ?? 128;
  // Tasks lose the node's own role before the first of them can ask for theirs.
  const block = await closeMetadata(config, maxPerUid, logger, hooks.nft);
  const cache = roles ? localCache(config, logger) : undefined;
  // Two lanes: the per-uid quota looks up every connection (a flood's thousand among them) in batches, one
  // kernel dump of the client sockets each (measured: a thousand exact lookups cost the loop 65 ms of pipe
  // writes; parsing /proc/net/tcp in the loop, 60 ms and a promise per 64 KiB); a request's own lookup
  // asks the kernel exactly, never queued behind the flood's.
  const owners = createConnectionOwners('/proc', bulk ? { clients: bulk.clients } : {});
  const requestOwners = diag ? createConnectionOwners('/proc', { exact: diag.lookup }) : owners;
  const writer = config.taskTokenKey ? createTokenWriter({ key: config.taskTokenKey, sandboxes: () => mesos.getSandboxes(), logger }) : undefined;
  const locator = createTaskLocator({
    mesos,
    ...(writer ? { onContainers: (list) => void writer.sync(list) } : {}),
    cgroupsRoot: config.cgroupsRoot,
    ...(config.cgroupHierarchies ? { cgroupHierarchies: config.cgroupHierarchies } : {}),
    owners: requestOwners,
    ...(config.dockerSocket ? { docker: createDockerInspector(config.dockerSocket) } : {}),
  });
  const handler = createAgentHandler({
    locator,
    ...(roles && cache ? { roles, cache } : {}),
    ...(remote ? { remote } : {}),
    logger,
    ...(config.taskTokenKey ? { taskTokenKey: config.taskTokenKey } : {}),
    ...(hooks.onDenied ? { onDenied: hooks.onDenied } : {}),
  });
  const server = await listenAgent(handler.handle, config.listen, {
    maxPerUid,
    uidOf: async (s) => (await owners(s))?.uid,
    onRefused: handler.connectionRefused,
  }).catch(async (err: unknown) => {
    await block?.remove().catch(() => undefined);
    throw err;
  });
  let metrics: AgentServer | undefined;
  try {
    if (config.metrics) metrics = await listenAgent(metricsHandler(handler.registry), config.metrics);
  } catch (err) {
    await server.close();
    await block?.remove().catch(() => undefined);
    throw err;
  }
  const ends = followTaskEnds({
    marathonUrl: config.marathonUrl,
    ...(marathonAuth ? { auth: marathonAuth } : {}),
    forget(taskId, why) {
      cache?.forgetTask(taskId);
      roles?.forgetTask(taskId);
      remote?.forgetTask(taskId);
      logger.info({ audit: { decision: 'forget', taskId, reason: why } }, 'task ended: its credentials are dropped');
    },
    held: () => new Set([...(cache?.tasks() ?? []), ...(roles?.tasks() ?? []), ...(remote?.tasks() ?? [])]),
    ...(writer ? { started: () => void locator.taskIds(true).catch(() => undefined) } : {}),
    running: () => locator.taskIds(true),
    logger,
  });
  return {
    url: server.url,
    metricsUrl: metrics?.url,
    async stop() {
      ends.stop();
      await server.close();
      await metrics?.close();
      await block?.remove();
      diag?.stop();
      bulk?.stop();
    },
  };
}
