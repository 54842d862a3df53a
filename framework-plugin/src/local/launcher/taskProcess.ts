import { spawn } from 'node:child_process';
import { closeSync, constants, fchownSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskUser } from './identity.js';
import type { TaskCgroup } from './cgroups.js';

/** How a task process ended. */
export interface TaskExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A task's process group, started in its sandbox. */
export interface TaskProcess {
  readonly pid: number;
  readonly exited: Promise<TaskExit>;
  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves on exit. */
  kill(graceMs: number): Promise<TaskExit>;
}

/** What to run: Marathon's `cmd` (through `/bin/sh -c`) or `args` (exec'd directly). */
export type TaskCommand = { cmd: string } | { args: readonly string[] };

/**
 * Starts a task as a process group in `sandbox`, stdout/stderr going to the
 * `stdout` and `stderr` files there (as on Mesos), as `user` when given (the
 * files then belong to it). The group is killed with the cluster process if
 * that dies.
 */
export function startTaskProcess(command: TaskCommand, sandbox: string, env: Record<string, string>, user?: TaskUser, cgroup?: TaskCgroup): TaskProcess {
  // Created new, never through a symlink: the sandbox may already be the task user's.
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND | constants.O_NOFOLLOW;
  const out = openSync(join(sandbox, 'stdout'), flags, 0o600);
  const err = openSync(join(sandbox, 'stderr'), flags, 0o600);
  if (user) {
    fchownSync(out, user.uid, user.gid);
    fchownSync(err, user.uid, user.gid);
  }
  const [task, taskArgs] = 'cmd' in command ? ['/bin/sh', ['-c', command.cmd]] : [command.args[0] ?? 'true', command.args.slice(1)];
  // With a cgroup, the process waits on fd 3 until it has been moved in, then closes it and
  // execs the task: nothing the task runs (or forks) is ever outside its container.
  const [file, args] = cgroup ? ['/bin/sh', ['-c', 'read _ <&3 || exit 111; exec 3<&-; exec "$@"', 'sip-task', task, ...taskArgs]] : [task, taskArgs];
  const child = spawn(file, args, {
    cwd: sandbox,
    env,
    stdio: ['ignore', out, err, ...(cgroup ? ['pipe' as const] : [])],
    detached: true,
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  closeSync(out);
  closeSync(err);
  const pid = child.pid ?? -1;
  if (cgroup) {
    const gate = child.stdio[3] as import('node:stream').Writable | null;
    try {
      if (pid > 0) cgroup.add(pid);
      gate?.end('\n');
    } catch {
      // Not in its container: it must not run at all.
      gate?.destroy();
      if (pid > 0) process.kill(-pid, 'SIGKILL');
    }
  }
  const killGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  const onParentExit = (): void => killGroup('SIGKILL');
  process.once('exit', onParentExit);
  const exited = new Promise<TaskExit>((resolve) => {
    child.once('exit', (code, signal) => {
      process.removeListener('exit', onParentExit);
      killGroup('SIGKILL'); // leave no grandchildren behind
      resolve({ code, signal });
    });
    child.once('error', () => resolve({ code: 127, signal: null }));
  });
  return {
    pid,
    exited,
    async kill(graceMs) {
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}
