import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processAlive } from '@secure-instance-profiles/framework-plugin/local';
import { startEmulator, type Emulator } from '@secure-instance-profiles/framework-plugin/local/emulator';
import { createLogger } from '@secure-instance-profiles/framework-plugin/log';
import { freePort } from '@secure-instance-profiles/framework-plugin/net';
import { runProcess, type Ran } from '../src/fixtures/process.js';

// The soak's cluster: the AWS emulator as AWS (outside the cluster, so a
// kill -9 of the cluster's daemon loses no role, bucket or object, as on a
// real cluster), a local cluster with two agents on fixed ports (a restarted
// daemon answers where the old one did), its state dir on a small tmpfs of
// its own (so it can be filled), and the harness acting as the daemon's
// supervisor (systemd's Restart=always: `sip cluster up` again after it dies).

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SIP = join(ROOT, 'framework-plugin/bin/sip.mjs');

/** What `cluster.json` says (the parts the soak uses). */
export interface ClusterInfo {
  pid: number;
  marathonUrl: string;
  secretsUrl: string;
  edgelbUrl: string;
  awsEndpoint: string;
  agentRoleArn: string;
  region: string;
  agents: Array<{ n: number; credentialsUrl: string }>;
}

/** One process the daemon runs, from its `processes.json`. */
export interface RecordedProcess {
  what: string;
  pid: number;
}

/** The soak's running cluster and the handles faults and checks use. */
export interface SoakCluster {
  readonly stateDir: string;
  /** The tmpfs holding the state dir, or undefined (not root: no file-system fault). */
  readonly tmpfs: string | undefined;
  /**
   * The file holding the cluster's clock offset (libfaketime's `+0`, `+1h`), read by every process the
   * daemon starts but the tasks (they get a clean environment) and AWS (the emulator runs outside); or undefined (no libfaketime).
   */
  readonly clockFile: string | undefined;
  readonly emulator: Emulator;
  readonly token: string;
  info(): ClusterInfo;
  /** The daemon's children now (sip agents, HAProxy, tasks), from its record. */
  processes(): RecordedProcess[];
  /** `sip …` with the cluster's environment. */
  sip(args: string[], input?: string): Promise<Ran>;
  /** Marathon's API with the cluster's token: status and parsed body (undefined when not JSON or unreachable). */
  marathon(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** Starts the daemon again after it died, as its supervisor would (1 s later, systemd's RestartSec=1); resolves once it serves, with the ms from the call. */
  restartDaemon(): Promise<number>;
  /** Whether a restart is under way (a dead daemon then is expected). */
  restarting(): boolean;
  /** Whether the daemon runs. */
  daemonAlive(): boolean;
  stop(): Promise<void>;
}

/** Starts the emulator, the state dir's tmpfs and the cluster. */
export async function startSoakCluster(opts: { agents: number; tmpfsMiB: number; log: (line: string) => void }): Promise<SoakCluster> {
  const base = mkdtempSync(join(tmpdir(), 'sip-soak-'));
  // Tasks (their own uids) must reach their sandboxes under the state dir: the path is traversable, not listable.
  chmodSync(base, 0o711);
  const stateDir = join(base, 'state');
  mkdirSync(stateDir, { mode: 0o711 });
  // The probes' evidence (see apps.ts): enterable and writable by tasks, not listable, each file its writer's.
  mkdirSync(join(base, 'probe'));
  chmodSync(join(base, 'probe'), 0o1733);
  let tmpfs: string | undefined;
  if (process.getuid?.() === 0) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${opts.tmpfsMiB}m,mode=0711`, 'sip-soak', stateDir]);
    tmpfs = stateDir;
  } else opts.log('not root: the state dir is not on a tmpfs of its own (no file-system-full fault)');
  const faketime = [`/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/faketime/libfaketime.so.1`].find((f) => existsSync(f));
  const clockFile = faketime ? join(base, 'clock-offset') : undefined;
  if (clockFile) writeFileSync(clockFile, '+0\n');
  else opts.log('libfaketime not found (apt-get install faketime): no clock-step fault');
  const emulator = await startEmulator({ logger: createLogger({ name: 'soak-emulator', level: 'warn', destination: process.stderr }) });
  const ports = { marathon: await freePort(), secrets: await freePort(), lb: await freePort() };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SIP_STATE_DIR: stateDir,
    // AWS is outside the cluster: the emulator the harness runs, with its admin keys for the daemon's own set-up.
    SIP_EMULATOR: 'endpoint',
    AWS_ENDPOINT_URL: emulator.endpoint,
    AWS_ACCESS_KEY_ID: emulator.admin.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: emulator.admin.credentials.secretAccessKey,
    SIP_EMULATOR_ENFORCES_IAM: '1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // The node's wall clock, steppable (timers keep the monotonic clock): read again each second.
    ...(clockFile
      ? {
          LD_PRELOAD: faketime,
          FAKETIME_TIMESTAMP_FILE: clockFile,
          FAKETIME_CACHE_DURATION: '1',
          FAKETIME_DONT_FAKE_MONOTONIC: '1',
          // No shared-memory semaphore between processes: with one, a child (haproxy -c) that finds its parent's gone fails at start.
          FAKETIME_DISABLE_SHM: '1',
        }
      : {}),
  };
  const sip = (args: string[], input?: string): Promise<Ran> =>
    runProcess(process.execPath, [SIP, ...args], { env, ...(input === undefined ? {} : { input }) });
  const upArgs = [
    'cluster',
    'up',
    '--agents',
    String(opts.agents),
    '--marathon-port',
    String(ports.marathon),
    '--secrets-port',
    String(ports.secrets),
    '--lb-port',
    String(ports.lb),
  ];
  const up = async (): Promise<void> => {
    const r = await sip(upArgs);
    if (r.code !== 0) throw new Error(`sip cluster up exited ${r.code}: ${r.err.trim() || r.out.trim()}`);
  };
  await up();
  const readInfo = (): ClusterInfo => JSON.parse(readFileSync(join(stateDir, 'cluster.json'), 'utf8')) as ClusterInfo;
  let info = readInfo();
  let restarting = false;
  const token = readFileSync(join(stateDir, 'acs-token'), 'utf8').trim();
  return {
    stateDir,
    tmpfs,
    clockFile,
    emulator,
    token,
    info: () => info,
    processes: () => {
      try {
        return (JSON.parse(readFileSync(join(stateDir, 'processes.json'), 'utf8')) as { processes: RecordedProcess[] }).processes;
      } catch {
        return [];
      }
    },
    sip,
    async marathon(method, path, body) {
      try {
        const res = await fetch(`${info.marathonUrl}${path}`, {
          method,
          headers: { authorization: `token=${token}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        return { status: res.status, body: parsed };
      } catch {
        return { status: 0, body: undefined };
      }
    },
    async restartDaemon() {
      const t0 = Date.now();
      restarting = true;
      try {
        await new Promise((r) => setTimeout(r, 1000));
        await up();
        info = readInfo();
      } finally {
        restarting = false;
      }
      return Date.now() - t0;
    },
    restarting: () => restarting,
    daemonAlive: () => processAlive(info.pid),
    async stop() {
      await sip(['cluster', 'down']).catch(() => undefined);
      await emulator.stop().catch(() => undefined);
      if (tmpfs) {
        try {
          execFileSync('umount', ['-l', tmpfs]);
        } catch {
          // already gone
        }
      }
      if (existsSync(base)) rmSync(base, { recursive: true, force: true });
    },
  };
}
