import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { SipError } from '../core/errors/SipError.js';
import { createServerCa } from '../delivery/server/certificates.js';
import { freePort } from '../net/freePort.js';
import { waitFor } from '../net/waitFor.js';
import { keepRunning, superviseDaemon } from './daemonProcess.js';
import { serviceAccountArgs } from './credentialAgent.js';
import type { ImdsServer } from './emulator/imdsServer.js';
import { installMetadataBlock, type MetadataBlock } from '../delivery/endpoint/metadataBlock.js';
import { nftCommand } from '../delivery/endpoint/nftables.js';

const SIP = fileURLToPath(new URL('../../bin/sip.mjs', import.meta.url));

/** The most sip server replicas a local cluster runs (on the masters' addresses 127.0.0.201 to 127.0.0.20N). */
export const MAX_LOCAL_SERVERS = 3;
/** The name servers answer to in node proofs (agents: `--server-audience`). */
export const LOCAL_SERVER_AUDIENCE = 'sip-server';

/** The replicas planned before the agents start (agents are told where they are). */
export interface ServerPlan {
  /** Replica N listens on `https://127.0.0.(200+N):port`. */
  readonly replicas: ReadonlyArray<{ n: number; host: string; port: number; url: string }>;
  /** The replicas' CA (`<state>/server-ca/ca.pem`, given to agents; `ca.key` 0600 beside it), made once. */
  readonly caFile: string;
  readonly caKeyFile: string;
  readonly audience: string;
}

/**
 * Plans `count` replicas: a CA in the state dir (kept across restarts, as
 * `sip server ca create` makes one), and for replica N the address
 * 127.0.0.(200+N), as a master's, and a free port.
 */
export async function planServers(stateDir: string, count: number): Promise<ServerPlan> {
  if (!Number.isInteger(count) || count < 1 || count > MAX_LOCAL_SERVERS)
    throw new SipError('SIP_USAGE', `--servers must be 0 to ${MAX_LOCAL_SERVERS} (replica N listens on 127.0.0.20N)`, { expose: true });
  const dir = join(stateDir, 'server-ca');
  const caFile = join(dir, 'ca.pem');
  const caKeyFile = join(dir, 'ca.key');
  if (!existsSync(caFile) || !existsSync(caKeyFile)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const ca = await createServerCa();
    await writeFile(caKeyFile, ca.keyPem, { mode: 0o600 });
    await writeFile(caFile, ca.certPem, { mode: 0o644 });
  }
  const replicas = [];
  for (let n = 1; n <= count; n++) {
    const host = `127.0.0.${200 + n}`;
    const port = await freePort(host);
    replicas.push({ n, host, port, url: `https://${host}:${port}` });
  }
  return { replicas, caFile, caKeyFile, audience: LOCAL_SERVER_AUDIENCE };
}

/** What every replica runs against. */
export interface ServersInit {
  stateDir: string;
  logger: Logger;
  /** The agents' instance-profile role name (the only role whose node proofs count). */
  agentRole: string;
  mesosMasterUrl: string;
  marathonUrl: string;
  secretsUrl: string;
  /** The DC/OS service account the servers log in as (the only one that reads AWS configs). */
  serviceAccount: { uid: string; keyFile: string; clusterUrl: string };
  /** The AWS environment without credentials (endpoint, region): a replica's identity is its master's instance profile. */
  awsEnv: Record<string, string>;
  /** Starts the metadata endpoint of replica N's master instance (the server role, sessions named after the instance). */
  masterMetadata(n: number, host: string): Promise<ImdsServer>;
  /** Closes the masters' metadata endpoints to the tasks' uids (nftables, the table named); undefined: tasks are not isolated. */
  closeMetadata: { uids: { min: number; max: number }; table: string } | undefined;
  /** STS calls per second each replica allows itself. */
  maxStsCallsPerSecond?: number;
}

/** A running replica. */
export interface RunningServer {
  readonly n: number;
  readonly url: string;
  readonly pid: number;
  /** Its master's metadata endpoint (the server role). */
  readonly imdsEndpoint: string;
  /** Settles when the process (the current one) has exited. */
  readonly whenExited: Promise<void>;
  /** Ends the process (SIGTERM, then SIGKILL) for good, as a master's loss would. */
  stop(): Promise<void>;
}

/** The daemon's own environment minus any AWS setting (keys an operator gave the daemon included): a node's daemon finds only its own instance profile. */
export function withoutAws(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => !e[0].startsWith('AWS_') && e[1] !== undefined));
}

/**
 * Starts each planned replica as its own `sip server` process, exactly as
 * an operator runs one on a master: the CA's files, the agents' role, the
 * master, Marathon and the secrets API, logged in as its service account,
 * its AWS identity from its master's metadata endpoint (the SDK's default
 * chain). Its log lines go to the cluster log.
 * @throws SipError `SIP_CLUSTER_START_FAILED` when one does not come up.
 */
export async function startCredentialServers(plan: ServerPlan, init: ServersInit): Promise<RunningServers> {
  const replicas: RunningServer[] = [];
  const metadata: ImdsServer[] = [];
  let block: MetadataBlock | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all([...replicas.map((s) => s.stop()), ...metadata.map((m) => m.stop())]);
    await block?.remove();
  };
  try {
    for (const r of plan.replicas) metadata.push(await init.masterMetadata(r.n, r.host));
    // A master's metadata endpoint is out of any task's reach on a cluster (another machine); here it is on loopback.
    if (init.closeMetadata)
      block = await installMetadataBlock(
        {
          table: init.closeMetadata.table,
          targets: metadata.map((m) => ({ host: new URL(m.endpoint).hostname, port: Number(new URL(m.endpoint).port) })),
          tasks: { uids: [init.closeMetadata.uids] },
        },
        nftCommand(),
      );
    for (const r of plan.replicas) {
      // Kept running as its unit's Restart=always would (same address, CA and ready file).
      const kept = await keepRunning(() => startReplica(plan, r, metadata[r.n - 1]!, init), { logger: init.logger, component: `sip-server-${r.n}` });
      const first = kept.current();
      replicas.push({
        n: r.n,
        url: first.url,
        imdsEndpoint: first.imdsEndpoint,
        get pid() {
          return kept.current().pid;
        },
        get whenExited() {
          return kept.current().whenExited;
        },
        stop: kept.stop,
      });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { replicas, stop };
}

/** The running replicas; `stop()` ends them all and opens nothing it closed to tasks before they are gone. */
export interface RunningServers {
  readonly replicas: readonly RunningServer[];
  stop(): Promise<void>;
}

async function startReplica(plan: ServerPlan, r: ServerPlan['replicas'][number], imds: ImdsServer, init: ServersInit): Promise<RunningServer> {
  const ready = join(init.stateDir, `server-${r.n}.ready`);
  await rm(ready, { force: true });
  const args = [
    SIP,
    'server',
    '--listen',
    `${r.host}:${r.port}`,
    '--ca-cert',
    plan.caFile,
    '--ca-key',
    plan.caKeyFile,
    '--audience',
    plan.audience,
    '--agent-role',
    init.agentRole,
    '--mesos-master-url',
    init.mesosMasterUrl,
    '--marathon-url',
    init.marathonUrl,
    '--secrets-url',
    init.secretsUrl,
    ...serviceAccountArgs(init.serviceAccount),
    '--max-sts-calls',
    String(init.maxStsCallsPerSecond ?? 10),
    '--ready-file',
    ready,
  ];
  const child = spawn(process.execPath, args, {
    env: { ...withoutAws(process.env), ...init.awsEnv, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint, AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const daemon = superviseDaemon(child, init.logger, `sip-server-${r.n}`);
  const stop = daemon.stop;
  try {
    await waitFor(async () => daemon.exited() || existsSync(ready), { what: `sip server ${r.n} serving`, timeoutMs: 20_000, intervalMs: 50 });
    if (daemon.exited()) throw new Error('it exited');
  } catch (err) {
    await stop();
    throw new SipError('SIP_CLUSTER_START_FAILED', `sip server ${r.n} did not start: ${(err as Error).message}; see the cluster log`, { expose: true });
  }
  const url = (await readFile(ready, 'utf8')).trim();
  return { n: r.n, url, pid: child.pid!, imdsEndpoint: imds.endpoint, whenExited: daemon.whenExited, stop };
}
