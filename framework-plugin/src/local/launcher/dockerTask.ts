import { execFile, execFileSync, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync } from 'node:fs';
import { chmod, chown } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { SipError } from '../../core/errors/SipError.js';
import type { TaskExit, TaskProcess } from './taskProcess.js';

const run = promisify(execFile);

/** Where Mesos' Docker containerizer mounts the sandbox, and `MESOS_SANDBOX` inside. */
export const CONTAINER_SANDBOX = '/mnt/mesos/sandbox';

/** Label on every container the local cluster starts (CI removes them by it). */
export const MANAGED_LABEL = 'sip.managed';

/** What to run as a Docker container. */
export interface DockerTaskSpec {
  readonly name: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The container's environment. Values travel in the docker CLI's environment, never in its argv. */
  readonly env: Readonly<Record<string, string>>;
  /** Host sandbox, mounted read-write at {@link CONTAINER_SANDBOX}; stdout/stderr files are written there. */
  readonly sandbox: string;
  /** Extra bind mounts, e.g. secret files read-only. */
  readonly mounts: ReadonlyArray<{ source: string; target: string; readOnly: boolean }>;
  /** Marathon `cmd` (run with `/bin/sh -c`, as Mesos does) or `args` (appended to the image's entrypoint). */
  readonly command: { cmd: string } | { args: readonly string[] } | undefined;
  /** Run as this numeric user instead of the image's (`docker run --user`). */
  readonly user?: { uid: number; gid: number };
}

/** The Docker engine as the local cluster uses it. */
export interface DockerEngine {
  /** Undefined when an engine answers, else why not and the fix. */
  unavailable(): Promise<string | undefined>;
  /** The image's configured user (`Config.User`), or undefined when the image is not here. */
  imageUser(image: string): Promise<string | undefined>;
  /** `docker pull`. @throws SipError `SIP_DOCKER_PULL_FAILED` */
  pull(image: string): Promise<void>;
  start(spec: DockerTaskSpec): TaskProcess;
}

/** Where `name` is on the agent's own PATH (resolved once: a task's env must never choose the binary root runs). */
function resolveBinary(name: string): string {
  if (name.includes('/')) return name;
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return name; // not found: running it reports ENOENT, as before
}

/** Variables that steer the docker CLI itself (or the loader): never taken from a task's env for the CLI. */
const steersTheCli = (name: string): boolean => name === 'PATH' || name === 'HOME' || name.startsWith('LD_') || name.startsWith('DOCKER_');

/**
 * The Docker CLI as the local cluster's containerizer: containers run with
 * host networking (the task's ports are host ports), labelled
 * `sip.managed=true`, removed when they end. The CLI stays attached, so the
 * task's process is the `docker run` client: its exit is the container's.
 */
export function createDockerEngine(name = 'docker'): DockerEngine {
  const binary = resolveBinary(name);
  let checked: { at: number; result: string | undefined } | undefined;
  const rmForce = (name: string): void => {
    try {
      execFileSync(binary, ['rm', '-f', name], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // already gone
    }
  };
  return {
    async unavailable() {
      if (checked && Date.now() - checked.at < 10_000) return checked.result;
      const result = await run(binary, ['version', '--format', '{{.Server.Version}}'], { timeout: 5000 }).then(
        () => undefined,
        (err: NodeJS.ErrnoException) =>
          err.code === 'ENOENT'
            ? 'no Docker client on this agent (apt-get install -y docker.io)'
            : 'no Docker engine answers on this agent (start one: dockerd --bridge=none --iptables=false --ip-masq=false &)',
      );
      checked = { at: Date.now(), result };
      return result;
    },
    async imageUser(image) {
      return run(binary, ['image', 'inspect', '--format', '{{.Config.User}}', image]).then(
        ({ stdout }) => stdout.trim(),
        () => undefined,
      );
    },
    async pull(image) {
      await run(binary, ['pull', image], { timeout: 300_000 }).catch((err: { stderr?: string }) => {
        throw new SipError('SIP_DOCKER_PULL_FAILED', `docker pull ${image} failed: ${(err.stderr ?? '').trim().split('\n').pop()}`, { expose: true });
      });
    },
    start(spec) {
      const args = ['run', '--rm', '--name', spec.name, '--network', 'host', '--pull', 'never', '--label', `${MANAGED_LABEL}=true`];
      for (const [k, v] of Object.entries(spec.labels)) args.push('--label', `${k}=${v}`);
      args.push('-v', `${spec.sandbox}:${CONTAINER_SANDBOX}`);
      for (const m of spec.mounts) args.push('-v', `${m.source}:${m.target}${m.readOnly ? ':ro' : ''}`);
      // Values travel in the CLI's environment (never argv), except the few that steer the CLI itself:
      // those go in argv, so the CLI runs with the agent's PATH, HOME and Docker settings.
      for (const [k, v] of Object.entries(spec.env)) args.push('-e', steersTheCli(k) ? `${k}=${v}` : k);
      if (spec.user) args.push('--user', `${spec.user.uid}:${spec.user.gid}`);
      if (spec.command && 'cmd' in spec.command) args.push('--entrypoint', '/bin/sh', spec.image, '-c', spec.command.cmd);
      else args.push(spec.image, ...(spec.command?.args ?? []));

      // Created new, never through a symlink: the sandbox may already be the task user's.
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND | constants.O_NOFOLLOW;
      const out = openSync(join(spec.sandbox, 'stdout'), flags, 0o600);
      const err = openSync(join(spec.sandbox, 'stderr'), flags, 0o600);
      const taskVars = Object.fromEntries(Object.entries(spec.env).filter(([k]) => !steersTheCli(k)));
      const child = spawn(binary, args, {
        env: {
          ...taskVars,
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/root',
          ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
        },
        stdio: ['ignore', out, err],
      });
      closeSync(out);
      closeSync(err);
      const onParentExit = (): void => rmForce(spec.name);
      process.once('exit', onParentExit);
      const exited = new Promise<TaskExit>((resolve) => {
        child.once('exit', (code, signal) => {
          process.removeListener('exit', onParentExit);
          rmForce(spec.name); // the CLI may die before the container: leave none behind
          resolve({ code, signal });
        });
        child.once('error', () => resolve({ code: 127, signal: null }));
      });
      return {
        pid: child.pid ?? -1,
        exited,
        async kill(graceMs) {
          // docker stop: SIGTERM to the container, SIGKILL after the grace period.
          await run(binary, ['stop', '-t', String(Math.max(0, Math.ceil(graceMs / 1000))), spec.name], { timeout: graceMs + 15_000 }).catch(() =>
            rmForce(spec.name),
          );
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          const result = await exited;
          clearTimeout(timer);
          return result;
        },
      };
    },
  };
}

/**
 * Hands the sandbox and its secret files to the container's user, as Mesos
 * chowns a sandbox to the task's user: numeric `uid[:gid]` images get
 * ownership when the agent runs as root; otherwise the files become readable
 * by all (mode 0444, the sandbox 0755): on a shared host prefer root agents.
 */
export async function shareWithContainerUser(sandbox: string, files: readonly string[], user: string | undefined): Promise<void> {
  const [uid, gid] = (user ?? '').split(':').map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  const dirs = new Set<string>([sandbox]);
  for (const f of files) for (let d = dirname(f); d.startsWith(sandbox) && d !== sandbox; d = dirname(d)) dirs.add(d);
  if (!user || uid === 0) return; // root in the container reads anything
  if (process.getuid?.() === 0 && uid !== undefined && !Number.isNaN(uid)) {
    const g = gid === undefined || Number.isNaN(gid) ? uid : gid;
    for (const p of [...dirs, ...files]) await chown(p, uid, g);
    return;
  }
  for (const d of dirs) await chmod(d, 0o755);
  for (const f of files) await chmod(f, 0o444);
}
