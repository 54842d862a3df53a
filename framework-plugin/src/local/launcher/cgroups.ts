import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The cgroup v1 hierarchies a task gets a group in: memory enforces `mem`, pids lists every process, freezer and systemd (`name=systemd`) as Mesos's Linux launcher places every container. */
export const TASK_HIERARCHIES = ['memory', 'pids', 'freezer', 'systemd'] as const;

/**
 * The most processes (threads count) one task may have (`pids.max`), as
 * systemd's `TasksMax=` bounds a unit: a task that forks without end meets
 * it and fails its own forks, the node and the other tasks keep theirs.
 */
export const TASK_PIDS_MAX = 512;

/** One task's cgroups, named as Mesos's cgroups isolator names them: `/<root>/<containerId>`. */
export interface TaskCgroup {
  readonly containerId: string;
  /** Moves a process in (before it runs the task's command). */
  add(pid: number): void;
  /** Every process in the group. */
  pids(): number[];
  /** SIGKILL to every process in the group, however it forked or detached. */
  killAll(): number;
  /** Removes the (empty) groups. */
  remove(): void;
}

/** Per-task cgroups on this machine, or why not. */
export type Cgroups = { available: true; root: string; create(containerId: string, memMiB: number): TaskCgroup } | { available: false; reason: string };

/**
 * Per-task cgroups like a Mesos agent's: under each of
 * {@link TASK_HIERARCHIES} a group `/<root>/<containerId>` (root e.g.
 * `sip-<cluster>/mesos`), `memory.limit_in_bytes` = the app's `mem`. Needs
 * root and cgroup v1 hierarchies at `base` (`/sys/fs/cgroup`); otherwise
 * reports why, and what depends on it (credential-endpoint mode) is refused.
 */
export function detectCgroups(root: string, base = '/sys/fs/cgroup'): Cgroups {
  if (process.getuid?.() !== 0) return { available: false, reason: 'not root: per-task cgroups need root' };
  try {
    for (const h of TASK_HIERARCHIES) mkdirSync(join(base, h, root), { recursive: true });
  } catch (err) {
    return {
      available: false,
      reason: `cgroup v1 hierarchies ${TASK_HIERARCHIES.join(', ')} under ${base} cannot be used (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    };
  }
  return {
    available: true,
    root,
    create(containerId, memMiB) {
      const dirs = TASK_HIERARCHIES.map((h) => join(base, h, root, containerId));
      for (const d of dirs) mkdirSync(d, { recursive: true });
      // Mesos enforces mem as the limit; a floor keeps a tiny definition from killing the runtime itself.
      writeFileSync(join(dirs[0]!, 'memory.limit_in_bytes'), String(Math.max(16, Math.ceil(memMiB)) * 1024 * 1024));
      writeFileSync(join(dirs[1]!, 'pids.max'), String(TASK_PIDS_MAX));
      const pids = (): number[] => readFileSync(join(dirs[1]!, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
      return {
        containerId,
        add(pid) {
          for (const d of dirs) writeFileSync(join(d, 'cgroup.procs'), String(pid));
        },
        pids: () => {
          try {
            return pids();
          } catch {
            return [];
          }
        },
        killAll() {
          let killed = 0;
          // Repeat: a process may fork while we signal.
          for (let round = 0; round < 10; round++) {
            let list: number[];
            try {
              list = pids();
            } catch {
              return killed;
            }
            if (list.length === 0) return killed;
            for (const p of list) {
              try {
                process.kill(p, 'SIGKILL');
                killed++;
              } catch {
                // gone
              }
            }
          }
          return killed;
        },
        remove() {
          for (const d of dirs) {
            try {
              rmdirSync(d);
            } catch {
              // not empty yet (zombies being reaped) or gone: the next start sweeps leftovers
            }
          }
        },
      };
    },
  };
}

/** Removes a cluster's cgroup root (`sip-<cluster>/mesos` and its parents up to the hierarchy) once empty. */
export function removeCgroupRoot(root: string, base = '/sys/fs/cgroup'): void {
  sweepCgroups(root, base);
  for (const h of TASK_HIERARCHIES) {
    const parts = root.split('/').filter(Boolean);
    for (let i = parts.length; i > 0; i--) {
      try {
        rmdirSync(join(base, h, ...parts.slice(0, i)));
      } catch {
        break; // busy or gone
      }
    }
  }
}

/** Removes a cluster's leftover task groups (after a crash), killing what is still in them. */
export function sweepCgroups(root: string, base = '/sys/fs/cgroup'): void {
  for (const h of TASK_HIERARCHIES) {
    const dir = join(base, h, root);
    let groups: string[];
    try {
      groups = readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch {
      continue;
    }
    for (const g of groups) {
      try {
        for (const p of readFileSync(join(dir, g, 'cgroup.procs'), 'utf8')
          .split('\n')
          .filter(Boolean))
          process.kill(Number(p), 'SIGKILL');
      } catch {
        // gone
      }
      try {
        rmdirSync(join(dir, g));
      } catch {
        // still busy: the next start tries again
      }
    }
  }
}
