import type { Logger } from 'pino';
import type { ImdsServer } from './emulator/imdsServer.js';
import type { CredentialMode } from '../core/marathon/credentialMode.js';
import type { EventBus } from '../core/marathon/events.js';
import type { HttpAuthenticator } from '../net/httpAuthenticator.js';
import { freePort } from '../net/freePort.js';
import { startCredentialAgent, type CredentialAgentInit } from './credentialAgent.js';
import { keepRunning } from './daemonProcess.js';
import { detectCgroups, removeCgroupRoot, sweepCgroups, type Cgroups } from './launcher/cgroups.js';
import { startMesosAgentApi } from './mesos-api/server.js';
import type { LocalCluster } from './scheduler/localCluster.js';
import { deliveryModes } from './scheduler/deliveryModes.js';
import type { LocalAgentSpec } from './scheduler/placement.js';

/** The most agents a local cluster runs (each a loopback address, 127.0.0.1 to 127.0.0.N). */
export const MAX_LOCAL_AGENTS = 9;

/** One agent planned before the scheduler starts: its address, cgroup root, sip agent's port and how its tasks get credentials. */
export interface PlannedAgent {
  /** 1-based, as `sip cluster agent kill N` names it. */
  readonly n: number;
  readonly spec: Omit<LocalAgentSpec, 'id'>;
  readonly cgroupsRoot: string;
  readonly cgroups: Cgroups;
  readonly credentialsPort: number;
  /** Its EC2 instance: the id, and the metadata endpoint serving its instance profile (sessions named after the id). */
  readonly instanceId: string;
  readonly imds: ImdsServer;
}

/** How the agents are planned: their number, attributes, and the cluster's credential mode. */
export interface AgentPlanInit {
  count: number;
  /** Attributes per agent number (1-based). */
  attributes?: Readonly<Record<number, Readonly<Record<string, string>>>>;
  label: string;
  defaultMode: CredentialMode;
  metadataClosed: boolean;
  docker: boolean;
  /** Launches the agent's EC2 instance (private IP = its address) and starts its metadata endpoint. */
  startInstance(privateIp: string): Promise<{ instanceId: string; imds: ImdsServer }>;
}

/**
 * Plans `count` agents: agent N on 127.0.0.N, its own cgroup root
 * (`sip-<label>/mesos` for a single agent, `sip-<label>/agent<N>/mesos`
 * otherwise), a free port for its sip agent, and delivery to it.
 */
export async function planAgents(init: AgentPlanInit): Promise<PlannedAgent[]> {
  const planned: PlannedAgent[] = [];
  for (let n = 1; n <= init.count; n++) {
    const hostname = `127.0.0.${n}`;
    const cgroupsRoot = init.count === 1 ? `sip-${init.label}/mesos` : `sip-${init.label}/agent${n}/mesos`;
    sweepCgroups(cgroupsRoot);
    const cgroups = detectCgroups(cgroupsRoot);
    const credentialsPort = await freePort();
    const { instanceId, imds } = await init.startInstance(hostname);
    const delivery = deliveryModes({
      defaultMode: init.defaultMode,
      metadataClosed: init.metadataClosed,
      endpoint: { agentUrl: `http://${hostname}:${credentialsPort}`, docker: init.docker, ...(cgroups.available ? {} : { noCgroups: cgroups.reason }) },
    });
    const env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint };
    planned.push({
      n,
      spec: { hostname, attributes: { ...(init.attributes?.[n] ?? {}) }, cgroups, delivery, env },
      cgroupsRoot,
      cgroups,
      credentialsPort,
      instanceId,
      imds,
    });
  }
  return planned;
}

/** A running agent's own parts: its Mesos agent operator API, its sip agent and its instance's metadata endpoint. */
export interface AgentNode {
  readonly n: number;
  readonly id: string;
  readonly hostname: string;
  readonly instanceId: string;
  readonly imdsEndpoint: string;
  readonly mesosAgentUrl: string;
  readonly mesosAgentPort: number;
  readonly credentials: { url: string; metricsUrl: string };
  readonly cgroupsRoot: string;
  /** Its sip agent's pid now (a new one after it died and was restarted). */
  readonly pid: number;
  /** Stops its sip agent, operator API and metadata endpoint (the node "dies"), idempotent. */
  stop(): Promise<void>;
}

/** What every agent's sip agent shares: the upstreams, its login, the environment. */
export type SharedAgentInit = Omit<CredentialAgentInit, 'port' | 'host' | 'fileStem' | 'mesosAgentUrl' | 'cgroupsRoot' | 'blockMetadata'> & {
  /** The tasks' uids and the table name; each agent blocks its own metadata endpoint in a table of its own (`<table>_<n>`). */
  blockMetadata?: Omit<NonNullable<CredentialAgentInit['blockMetadata']>, 'address'>;
};

/**
 * Starts each planned agent's operator API (its own tasks' containers, its
 * id and address) and its sip agent (its own cgroup root, port, files and
 * nftables table).
 */
export async function startAgentNodes(
  planned: readonly PlannedAgent[],
  deps: { cluster: LocalCluster; authenticator: HttpAuthenticator; logger: Logger; events: EventBus; shared: SharedAgentInit },
): Promise<AgentNode[]> {
  const nodes: AgentNode[] = [];
  const agents = deps.cluster.agents();
  try {
    for (const p of planned) {
      const agent = agents[p.n - 1]!;
      const api = await startMesosAgentApi({
        source: { agentId: agent.id, hostname: agent.hostname, containers: () => deps.cluster.containers(agent.id) },
        authenticator: deps.authenticator,
        logger: deps.logger,
      });
      const stem = p.n === 1 ? 'agent' : `agent-${p.n}`;
      const { blockMetadata, ...shared } = deps.shared;
      // Kept running as its unit's Restart=always would: same port, same table, same token key.
      const sip = await keepRunning(
        () =>
          startCredentialAgent({
            ...shared,
            port: p.credentialsPort,
            host: p.spec.hostname,
            fileStem: stem,
            mesosAgentUrl: api.url,
            cgroupsRoot: p.cgroupsRoot,
            // Its own instance profile, through its own metadata endpoint: the one its tasks may not reach.
            env: { ...deps.shared.env, AWS_EC2_METADATA_SERVICE_ENDPOINT: p.imds.endpoint },
            ...(blockMetadata
              ? {
                  blockMetadata: {
                    ...blockMetadata,
                    address: new URL(p.imds.endpoint).host,
                    table: p.n === 1 ? blockMetadata.table : `${blockMetadata.table}_${p.n}`,
                  },
                }
              : {}),
          }),
        { logger: deps.logger, component: `sip-agent-${p.n}` },
      ).catch(async (err: unknown) => {
        await api.stop();
        throw err;
      });
      let stopped: Promise<void> | undefined;
      nodes.push({
        n: p.n,
        id: agent.id,
        hostname: agent.hostname,
        instanceId: p.instanceId,
        imdsEndpoint: p.imds.endpoint,
        mesosAgentUrl: api.url,
        mesosAgentPort: Number(new URL(api.url).port),
        credentials: { url: sip.current().url, metricsUrl: sip.current().metricsUrl },
        cgroupsRoot: p.cgroupsRoot,
        get pid() {
          return sip.current().pid;
        },
        stop: () => (stopped ??= Promise.all([sip.stop(), api.stop(), p.imds.stop()]).then(() => undefined)),
      });
    }
    return nodes;
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
}

/** Removes the planned agents' cgroup roots (after their tasks are gone). */
export function removeAgentCgroups(planned: readonly PlannedAgent[]): void {
  for (const p of planned) if (p.cgroups.available) removeCgroupRoot(p.cgroupsRoot);
}
