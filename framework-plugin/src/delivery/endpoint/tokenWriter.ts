import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import type { Logger } from 'pino';
import type { MesosContainer } from '../../clients/mesos/agentClient.js';
import { parseTaskId } from '../../core/marathon/taskId.js';
import { taskToken } from './taskToken.js';

/**
 * The token file's name in a task's sandbox: tasks point
 * `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` at it (`$MESOS_SANDBOX/.sip-task-token`;
 * `/mnt/mesos/sandbox/.sip-task-token` in a container with an image).
 */
export const TASK_TOKEN_FILE = '.sip-task-token';

/** What {@link createTokenWriter} needs. */
export interface TokenWriterInit {
  /** Key of the tokens (`HMAC-SHA256(key, taskId)`), as the handler checks them. */
  key: Buffer;
  /** Sandbox directories by container id, from the Mesos agent (`/state`'s executors' `directory`). */
  sandboxes(): Promise<ReadonlyMap<string, string>>;
  logger: Logger;
}

/** Writes each Marathon task's token into its sandbox, once per container. */
export interface TokenWriter {
  /** Brings the written tokens in line with the agent's containers: new tasks get theirs, gone ones are forgotten. */
  sync(containers: readonly MesosContainer[]): Promise<void>;
}

/**
 * Writes a file into a sandbox the task's user owns without following
 * anything that user planted: a fresh name created exclusively and never
 * through a symlink, owned by the sandbox's owner (mode 0400), then renamed
 * over the token file (a rename replaces a planted symlink, never its
 * target). The sandbox's own path is the Mesos agent's, root's up to it.
 */
export async function writeIntoSandbox(dir: string, name: string, content: string): Promise<void> {
  if (!isAbsolute(dir) || normalize(dir) !== dir || dir.split('/').includes('..'))
    throw new Error(`sandbox ${JSON.stringify(dir)} is not a plain absolute path`);
  const st = await lstat(dir);
  if (!st.isDirectory()) throw new Error(`sandbox ${dir} is not a directory`);
  const tmp = join(dir, `${name}.${randomBytes(8).toString('hex')}`);
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o400);
  try {
    await fh.writeFile(content);
    await fh.chown(st.uid, st.gid);
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, join(dir, name)).catch(async (err: unknown) => {
    await rm(tmp, { force: true });
    throw err;
  });
}

/**
 * sip agent writes every Marathon task's token itself, as soon as the Mesos
 * agent lists its container (after Marathon's `TASK_RUNNING`, a periodic
 * reconciliation, or the first tokenless request), so no launcher, plugin
 * or shared key is needed: with `--require-task-token` a request must carry
 * it. Sandboxes are asked of the Mesos agent once per batch of new tasks.
 */
export function createTokenWriter(init: TokenWriterInit): TokenWriter {
  const written = new Set<string>();
  let running: Promise<void> = Promise.resolve();
  const sync = async (containers: readonly MesosContainer[]): Promise<void> => {
    const live = new Set(containers.map((c) => c.containerId));
    for (const id of written) if (!live.has(id)) written.delete(id);
    const fresh = containers.filter(
      (c) => !written.has(c.containerId) && c.executorId && c.frameworkId && parseTaskId(c.executorId) && !parseTaskId(c.executorId)!.container,
    );
    if (fresh.length === 0) return;
    const dirs = await init.sandboxes();
    for (const c of fresh) {
      const dir = dirs.get(c.containerId);
      if (dir === undefined) continue; // not in the agent's state yet: the next list tries again
      try {
        await writeIntoSandbox(dir, TASK_TOKEN_FILE, taskToken(init.key, c.executorId!));
        written.add(c.containerId);
      } catch (err) {
        written.add(c.containerId); // once per container: a task that broke its own sandbox gets no retry storm
        init.logger.warn({ taskId: c.executorId, containerId: c.containerId, err: { message: (err as Error).message } }, 'task token could not be written');
      }
    }
  };
  return {
    // One sync at a time, in order: two lists never race to write the same task.
    sync(containers) {
      running = running
        .then(() => sync(containers))
        .catch((err: Error) => init.logger.warn({ err: { message: err.message } }, 'task tokens not written; retried with the next container list'));
      return running;
    },
  };
}
