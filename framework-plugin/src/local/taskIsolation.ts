import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { detectIsolation, taskPath, type Isolation } from './launcher/isolation.js';

/** What {@link isolateTasks} decided and prepared. */
export interface TaskIsolation {
  readonly isolation: Isolation;
  /** The agent environment for tasks: its PATH holds only what they can enter. */
  readonly agentEnv: Record<string, string>;
  /** PATH entries left out because tasks cannot enter them. */
  readonly dropped: string[];
}

/**
 * Prepares the state dir for tasks under their own users: the sandbox root
 * (0711), the rest of the state dir closed ({@link lockStateDir}), and a
 * PATH of what an unprivileged task can enter. Decides whether isolation is
 * possible here and says so in the log when it is not.
 */
export async function isolateTasks(init: { stateDir: string; agentEnv: Record<string, string>; insecure: boolean; logger: Logger }): Promise<TaskIsolation> {
  const sandboxRoot = join(init.stateDir, 'sandboxes');
  await mkdir(sandboxRoot, { recursive: true, mode: 0o711 });
  await lockStateDir(init.stateDir); // before deciding: the state dir itself becomes passable (0711)
  const { path, dropped } = taskPath(init.agentEnv.PATH ?? '');
  // What tasks must reach to run at all: node, and the project's tools.
  const tools = [dirname(process.execPath), ...(init.agentEnv.PATH ?? '').split(':').filter((d) => d.includes('node_modules') && existsSync(d))];
  const isolation = detectIsolation({ sandboxRoot, tools }, init.insecure);
  if (!isolation.enabled) init.logger.warn({ component: 'isolation', reason: isolation.reason, insecure: isolation.insecure }, 'tasks share one identity');
  if (isolation.enabled && dropped.length > 0)
    init.logger.warn({ component: 'isolation', dropped }, 'PATH entries tasks cannot enter are left out of their PATH');
  return { isolation, agentEnv: isolation.enabled ? { ...init.agentEnv, PATH: path } : init.agentEnv, dropped: isolation.enabled ? dropped : [] };
}

/**
 * The state dir as tasks see it: they may pass through it to their sandbox
 * (0711, no listing), and nothing else in it (store, key, ACS token, admin
 * credentials, logs, apps, pools) is open to anyone but its owner.
 */
export async function lockStateDir(stateDir: string): Promise<void> {
  await chmod(stateDir, 0o711);
  for (const entry of await readdir(stateDir, { withFileTypes: true })) {
    const p = join(stateDir, entry.name);
    const mode = entry.name === 'sandboxes' && entry.isDirectory() ? 0o711 : entry.isDirectory() ? 0o700 : entry.isFile() ? 0o600 : undefined;
    // A temp file may be renamed away between the listing and the chmod: nothing to close then.
    if (mode !== undefined) await chmod(p, mode).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
  }
}
