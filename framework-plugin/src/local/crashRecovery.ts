import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';

/** One OS process a daemon started and must not outlive it. */
export interface ProcessRecord {
  /** What it is, for the log: `task <id>`, `haproxy`, `aws emulator`. */
  readonly what: string;
  readonly pid: number;
  /** Kill its whole process group (tasks are group leaders). */
  readonly group: boolean;
  /** `/proc/<pid>/stat` start time, so a reused pid is never killed. */
  readonly startTime: string;
}

const FILE = 'processes.json';

/** The `sip.cluster` label of a state dir's containers. */
export function clusterLabel(stateDir: string): string {
  return createHash('sha256').update(stateDir).digest('hex').slice(0, 16);
}

/** A process's start time (field 22 of /proc/<pid>/stat), or undefined when it is gone. */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * Writes what this daemon runs (`<state>/processes.json`, atomically, 0600),
 * so that after a `kill -9` the next start can find it.
 */
export async function recordProcesses(stateDir: string, processes: ReadonlyArray<{ what: string; pid: number; group: boolean }>): Promise<void> {
  const records: ProcessRecord[] = processes.flatMap((p) => {
    const startTime = startTimeOf(p.pid);
    return startTime ? [{ ...p, startTime }] : [];
  });
  const tmp = join(stateDir, `${FILE}.tmp-${process.pid}`);
  await writeFile(tmp, JSON.stringify({ daemon: process.pid, processes: records }), { mode: 0o600 });
  await rename(tmp, join(stateDir, FILE));
}

/**
 * True while a process with this pid runs. A zombie (killed, not yet reaped:
 * a daemon whose parent is gone, under an init that does not reap) is dead.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc here: signal 0 is all we know
  }
}

/** Forgets the record after a clean stop: nothing was left behind. */
export async function forgetProcesses(stateDir: string): Promise<void> {
  await rm(join(stateDir, FILE), { force: true });
}

/**
 * What a daemon killed with `kill -9` left behind, cleared before a new one
 * starts: its tasks' process groups, HAProxy and the emulator (each only if
 * it is still the same process), this cluster's containers, the old
 * sandboxes with their secret files, and temp files of writers that are gone.
 * @returns one line per thing cleared, for the log.
 */
export async function reapLeftovers(stateDir: string, logger: Logger): Promise<string[]> {
  const done: string[] = [];
  let recorded: { daemon?: number; processes?: ProcessRecord[] } | undefined;
  try {
    recorded = JSON.parse(await readFile(join(stateDir, FILE), 'utf8')) as typeof recorded;
  } catch {
    // nothing recorded: a first start, or a clean stop (which removes the record)
  }
  if (recorded?.daemon !== undefined && recorded.daemon !== process.pid && startTimeOf(recorded.daemon) !== undefined && processAlive(recorded.daemon)) {
    // Its daemon still runs: nothing here is left over.
    return done;
  }
  for (const p of recorded?.processes ?? []) {
    if (startTimeOf(p.pid) !== p.startTime) continue; // gone, or the pid now belongs to someone else
    try {
      process.kill(p.group ? -p.pid : p.pid, 'SIGKILL');
      done.push(`killed ${p.what} (pid ${p.pid})`);
    } catch {
      // exited meanwhile
    }
  }
  // Containers of this cluster (labelled when started), if a Docker engine answers.
  const run = promisify(execFile);
  if (recorded)
    try {
      const { stdout } = await run('docker', ['ps', '-aq', '--filter', `label=sip.cluster=${clusterLabel(stateDir)}`], { timeout: 10_000 });
      const ids = stdout.split('\n').filter(Boolean);
      if (ids.length > 0) {
        await run('docker', ['rm', '-f', ...ids], { timeout: 30_000 });
        done.push(`removed ${ids.length} container(s)`);
      }
    } catch {
      // no docker here: no containers either
    }
  // Old sandboxes hold secret files of tasks that no longer run.
  const sandboxes = join(stateDir, 'sandboxes');
  for (const name of recorded ? await readdir(sandboxes).catch(() => [] as string[]) : []) {
    await rm(join(sandboxes, name), { recursive: true, force: true });
    done.push(`removed sandbox ${name}`);
  }
  // Temp files whose writer (pid in the name) is gone.
  for (const dir of [stateDir, join(stateDir, 'secrets'), join(stateDir, 'secrets', 'data'), join(stateDir, 'marathon')]) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const m = /\.tmp-(\d+)/.exec(name);
      if (m && !processAlive(Number(m[1]))) {
        await rm(join(dir, name), { force: true });
        done.push(`removed temp file ${join(dir, name)}`);
      }
    }
  }
  await rm(join(stateDir, FILE), { force: true });
  if (done.length > 0)
    logger.warn({ component: 'recovery', cleared: done.length, previousDaemon: recorded?.daemon }, `cleared what a stopped daemon left: ${done.join('; ')}`);
  return done;
}
