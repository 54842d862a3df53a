import { spawn } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { EventBus } from '../core/marathon/events.js';
import { SipError } from '../core/errors/SipError.js';
import { waitFor } from '../net/waitFor.js';
import { superviseDaemon } from './daemonProcess.js';

const SIP = fileURLToPath(new URL('../../bin/sip.mjs', import.meta.url));

/** User options of {@link startCredentialAgent}. */
export interface CredentialAgentInit {
  stateDir: string;
  logger: Logger;
  /** Where tasks will call (chosen before the scheduler starts, so tasks know it). */
  port: number;
  /** The address it listens on: its agent's (default 127.0.0.1). */
  host?: string;
  /** Names its files in the state dir (`<stem>-token.key`, `<stem>-metrics.sock`): one per agent. Default `agent`. */
  fileStem?: string;
  marathonUrl: string;
  mesosAgentUrl: string;
  /** Where it reads apps' AWS configs itself; or `server`: sip server decides, and it reads no secret. */
  secretsUrl?: string;
  /** The sip server replicas it asks instead (their URLs, their CA's file, their audience). */
  server?: { urls: readonly string[]; caFile: string; audience: string };
  /** The DC/OS service account it logs in as (its key file, the IAM's URL): tokens that expire and are renewed. */
  serviceAccount: { uid: string; keyFile: string; clusterUrl: string };
  cgroupsRoot: string;
  /** The Docker engine's socket, to resolve DOCKER tasks. */
  dockerSocket?: string;
  /** The agent's own environment: the AWS SDK's default chain finds the agent's instance profile through it. */
  env: Record<string, string>;
  /** Closes the metadata stand-in (`host:port`) to the tasks' uids with nftables, in the table named. */
  blockMetadata?: { address: string; uids: { min: number; max: number }; table: string };
  /** Denials become events on the app (`sip_credentials_denied`). */
  events: Pick<EventBus, 'publish'>;
}

/** What `sip agent` sends its supervisor over IPC. */
type AgentMessage =
  { type?: string; url?: unknown; metricsUrl?: unknown; denial?: { appId?: string; taskId?: string; code: string; reason: string } } | undefined;

/** A running `sip agent`. */
export interface CredentialAgent {
  readonly url: string;
  readonly metricsUrl: string;
  readonly pid: number;
  /** Settles when the process has exited. */
  readonly whenExited: Promise<void>;
  stop(): Promise<void>;
}

/**
 * A service account's RSA key pair in the state dir (`<uid>.service-account.key`,
 * PKCS#8 PEM, 0600), created once, as `dcos security org service-accounts keypair` does.
 */
export async function serviceAccountKey(stateDir: string, uid: string): Promise<{ uid: string; keyFile: string; publicKey: string }> {
  const keyFile = join(stateDir, `${uid}.service-account.key`);
  let pem = await readFile(keyFile, 'utf8').catch(() => '');
  if (!pem) {
    const pair = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    await writeFile(keyFile, pair.privateKey, { mode: 0o600, flag: 'wx' }).catch(() => undefined);
    pem = await readFile(keyFile, 'utf8');
  }
  return { uid, keyFile, publicKey: createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString() };
}

/** The options by which `sip agent` and `sip server` log in as a DC/OS service account. */
export function serviceAccountArgs(account: { uid: string; keyFile: string; clusterUrl: string }): string[] {
  return ['--service-account', account.uid, '--service-account-key', account.keyFile, '--cluster-url', account.clusterUrl];
}

/**
 * Starts `sip agent` for the local cluster as its own process, exactly as
 * on a Mesos agent: against the local Marathon, Mesos operator API and
 * secrets API, logged in as a DC/OS service account, with the per-task token key from the state dir
 * and the agent's instance-profile environment. Its audit lines go to the
 * cluster log; its denials to the app's events.
 * @throws SipError `SIP_CLUSTER_START_FAILED` when it does not come up.
 */
export async function startCredentialAgent(init: CredentialAgentInit): Promise<CredentialAgent> {
  const args = [
    SIP,
    'agent',
    '--listen',
    `${init.host ?? '127.0.0.1'}:${init.port}`,
    // Metrics on a Unix socket only root reads: a host-network task cannot watch others fetch credentials.
    '--metrics-listen',
    `unix:${join(init.stateDir, `${init.fileStem ?? 'agent'}-metrics.sock`)}`,
    '--marathon-url',
    init.marathonUrl,
    '--mesos-agent-url',
    init.mesosAgentUrl,
    ...(init.server
      ? [...init.server.urls.flatMap((u) => ['--server', u]), '--server-ca', init.server.caFile, '--server-audience', init.server.audience]
      : ['--secrets-url', init.secretsUrl ?? '']),
    ...serviceAccountArgs(init.serviceAccount),
    // sip agent writes each task's token into its sandbox and requires it; the key outlives its restarts.
    '--require-task-token',
    '--task-token-key-file',
    join(init.stateDir, `${init.fileStem ?? 'agent'}-token.key`),
    '--cgroups-root',
    init.cgroupsRoot,
    ...(init.dockerSocket ? ['--docker-socket', init.dockerSocket] : []),
    ...(init.blockMetadata
      ? [
          '--block-metadata',
          '--metadata-address',
          init.blockMetadata.address,
          '--task-uids',
          `${init.blockMetadata.uids.min}-${init.blockMetadata.uids.max}`,
          '--nft-table',
          init.blockMetadata.table,
        ]
      : []),
    // The local cluster's upstreams are this process's: trusted when it is not root too.
    ...(process.getuid && process.getuid() !== 0 ? ['--upstream-uid', String(process.getuid())] : []),
  ];
  // Its own descriptor limit raised first (as LimitNOFILE in the unit): a tenant's thousand sockets must
  // meet the per-uid quota, not the process's 1024 descriptors. And a higher CPU priority than any task
  // (as Nice= in the unit): a tenant's flood on a busy node must not starve the others' credentials.
  // An IPC channel (fd 3, through sh's exec): the library's own reports, denials and readiness, arrive
  // as messages; stdout is only the audit log.
  const child = spawn('sh', ['-c', 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec nice -n -10 "$0" "$@"', process.execPath, ...args], {
    env: init.env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
    serialization: 'json',
  });
  let readyUrls: { url: string; metricsUrl: string } | undefined;
  child.on('message', (m: AgentMessage) => {
    if (m?.type === 'sip-agent.ready') readyUrls = { url: String(m.url), metricsUrl: String(m.metricsUrl ?? '') };
    else if (m?.type === 'sip-agent.denied' && m.denial?.appId) {
      const d = m.denial;
      init.events.publish('sip_credentials_denied', { appId: d.appId, taskId: d.taskId, code: d.code, reason: d.reason });
    }
  });
  child.channel?.unref();
  const daemon = superviseDaemon(child, init.logger, 'sip-agent');
  const stop = daemon.stop;
  try {
    await waitFor(async () => daemon.exited() || readyUrls !== undefined, { what: 'sip agent listening', timeoutMs: 20_000, intervalMs: 20 });
    if (daemon.exited()) throw new Error('it exited');
  } catch (err) {
    await stop();
    throw new SipError('SIP_CLUSTER_START_FAILED', `the credential agent (sip agent) did not start: ${(err as Error).message}; see the cluster log`, {
      expose: true,
    });
  }
  return { url: readyUrls!.url, metricsUrl: readyUrls!.metricsUrl, pid: child.pid!, whenExited: daemon.whenExited, stop };
}
