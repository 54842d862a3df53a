import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SoakCluster } from './cluster.js';
import { pause } from './ledger.js';

// The faults, each an operator's bad day on a node: the process killed with
// kill -9 (its supervisor starts it again), AWS unreachable, Marathon frozen,
// a tenant's task that forks or allocates without end, the state disk full.

/** One fault kind: how it is injected (resolves when the fault is over) and how long recovery may take. */
export interface FaultKind {
  kind: string;
  /** Recovery bound, ms from the fault's end. */
  boundMs: number;
  /** Injects it; returns a note for the log (what was hit). */
  inject(c: SoakCluster, round: number): Promise<string>;
}

const kill = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
};

const recorded = (c: SoakCluster, prefix: string): number[] =>
  c
    .processes()
    .filter((p) => p.what.startsWith(prefix))
    .map((p) => p.pid);

/** A task of `appId` that misbehaves for `seconds`, then is removed; returns what its cgroup saw. */
async function hostileTask(c: SoakCluster, appId: string, cmd: string, mem: number, seconds: number, seen: (cgroup: string) => string): Promise<string> {
  const added = await c.marathon('POST', '/v2/apps', { id: appId, cmd, cpus: 0.01, mem, instances: 1, backoffSeconds: 1, maxLaunchDelaySeconds: 5 });
  if (added.status !== 201) return `could not deploy ${appId}: HTTP ${added.status}`;
  let note = 'never ran';
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    await pause(1000);
    const task = c.processes().find((p) => p.what.startsWith(`task ${appId.slice(1).replaceAll('/', '_')}.`));
    const cgroup = task ? cgroupOf(task.pid) : undefined;
    if (cgroup) note = seen(cgroup);
  }
  await c.marathon('DELETE', `/v2/apps${appId}?force=true`);
  return note;
}

/** The task's memory cgroup path (v1), from /proc. */
function cgroupOf(pid: number): string | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => /:memory:/.test(l));
    return line?.split(':')[2];
  } catch {
    return undefined;
  }
}

const readNum = (file: string): number => {
  try {
    return Number(/(\d+)/.exec(readFileSync(file, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
};

/** Every fault kind the soak injects, in the order of a round. */
export const FAULTS: FaultKind[] = [
  {
    kind: 'kill -9 sip agent',
    boundMs: 30_000,
    async inject(c, round) {
      const pids = recorded(c, 'sip agent ');
      const pid = pids[round % Math.max(1, pids.length)];
      if (pid === undefined) return 'no sip agent recorded';
      kill(pid, 'SIGKILL');
      return `sip agent pid ${pid}`;
    },
  },
  {
    kind: 'state dir full 10 s',
    boundMs: 60_000,
    async inject(c) {
      if (!c.tmpfs) return 'skipped: no tmpfs of its own';
      const filler = join(c.tmpfs, 'soak-filler');
      const free = statfsSync(c.tmpfs).bavail * statfsSync(c.tmpfs).bsize;
      // All but the last MiB at once, the rest block by block until ENOSPC.
      execFileSync('fallocate', ['-l', String(Math.max(0, free - 2 ** 20)), filler]);
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k', 'oflag=append', 'conv=notrunc'], { stdio: 'ignore' });
      } catch {
        // ENOSPC: full, as wanted
      }
      const left = statfsSync(c.tmpfs).bavail * statfsSync(c.tmpfs).bsize;
      await pause(10_000);
      rmSync(filler, { force: true });
      return `filled ${(free / 2 ** 20).toFixed(0)} MiB, ${left} B left`;
    },
  },
  {
    kind: 'kill -9 cluster daemon',
    boundMs: 120_000,
    async inject(c) {
      const pid = c.info().pid;
      kill(pid, 'SIGKILL');
      // Its supervisor (systemd's Restart=always, RestartSec=1) starts it again.
      const took = await c.restartDaemon();
      return `daemon pid ${pid}; up again in ${took} ms`;
    },
  },
  {
    kind: 'kill -9 HAProxy',
    boundMs: 30_000,
    async inject(c) {
      const pid = recorded(c, 'haproxy')[0];
      if (pid === undefined) return 'no haproxy recorded';
      kill(-pid, 'SIGKILL');
      return `haproxy group ${pid}`;
    },
  },
  {
    kind: 'STS unavailable 30 s',
    boundMs: 60_000,
    async inject(c) {
      // The emulator serves every AWS API from one process: frozen, STS (and S3) answer nothing.
      const pid = c.emulator.pid!;
      kill(-pid, 'SIGSTOP');
      await pause(30_000);
      kill(-pid, 'SIGCONT');
      return `emulator pid ${pid} stopped 30 s`;
    },
  },
  {
    kind: 'Marathon paused 20 s',
    boundMs: 60_000,
    async inject(c) {
      // Marathon's API, the secrets API and the scheduler share the daemon: SIGSTOP freezes them all.
      const pid = c.info().pid;
      kill(pid, 'SIGSTOP');
      await pause(20_000);
      kill(pid, 'SIGCONT');
      return `daemon pid ${pid} stopped 20 s`;
    },
  },
  {
    kind: 'clock +1 h for 30 s',
    boundMs: 60_000,
    async inject(c) {
      if (!c.clockFile) return 'skipped: no libfaketime';
      // The node's clock steps an hour ahead (credentials cached for an hour now look expired), then back (NTP's correction).
      writeFileSync(c.clockFile, '+1h\n');
      await pause(30_000);
      writeFileSync(c.clockFile, '+0\n');
      return 'cluster clock +1 h for 30 s (AWS and the tasks kept the true time)';
    },
  },
  {
    kind: 'fork bomb',
    boundMs: 30_000,
    async inject(c, round) {
      // Each process forks two that do the same: exponential, it meets the limit within a second.
      let note = 'never seen in its cgroup';
      await hostileTask(c, `/soak/hostile/forks-${round}`, 'f() { f & f & f & f & wait; }; f', 64, 8, (cg) => {
        const dir = join('/sys/fs/cgroup/pids', cg);
        // A process caught between exec and its cgroup (or gone) reads as the root: not the task's.
        if (cg !== '/' && existsSync(join(dir, 'pids.max')))
          note = `pids.current ${readNum(join(dir, 'pids.current'))} of ${readNum(join(dir, 'pids.max'))}, forks refused ${readNum(join(dir, 'pids.events'))}`;
        return note;
      });
      return note;
    },
  },
  {
    kind: 'memory past its limit',
    boundMs: 30_000,
    async inject(c, round) {
      const id = `/soak/hostile/memory-${round}`;
      const cmd = `python3 -c "a=[]\nwhile True: a.append(bytearray(8 << 20))"`;
      await hostileTask(c, id, cmd, 64, 8, () => 'running');
      // Each launch killed at its limit of 64 MiB (TASK_FAILED), launched again after its backoff.
      return `${sandboxesOf(c, `${id.slice(1).replaceAll('/', '_')}.`).length} launches, each killed at its 64 MiB`;
    },
  },
];

/** Sandboxes of tasks whose id starts with `prefix` (e.g. `soak_endpoint_probe.`). */
export function sandboxesOf(c: SoakCluster, prefix: string): string[] {
  try {
    return readdirSync(join(c.stateDir, 'sandboxes'))
      .filter((d) => d.startsWith(prefix))
      .map((d) => join(c.stateDir, 'sandboxes', d));
  } catch {
    return [];
  }
}
