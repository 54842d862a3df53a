import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chown, mkdir, open, realpath, rename, rmdir, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { SipError } from '../../core/errors/SipError.js';
import { isSandboxPath } from '../../core/marathon/appDefinition.js';
import type { MountPlan } from '../../core/resolver/mountPlan.js';

/** Files a plan put into a sandbox, and how to take them away again. */
export interface Materialized {
  /** Absolute paths of the secret files written. */
  readonly files: readonly string[];
  /** Removes every file (and directory) this materialisation created. Idempotent. */
  cleanup(): Promise<void>;
}

const inside = (root: string, p: string): boolean => p === root || p.startsWith(root + sep);

/**
 * Writes a plan's files into `sandbox` before the task starts: each at
 * `<sandbox>/<containerPath>`, mode 0400, via temp file + fsync + rename.
 *
 * All or nothing: on any failure everything written so far is removed.
 * Paths that are absolute, climb out with `..`, or resolve outside the
 * sandbox through a symlink are refused. With `owner`, files and the
 * directories created for them belong to the task's user (0400 for it
 * alone), as Mesos hands a sandbox to the task's user.
 * @throws SipError `SIP_MATERIALIZE_FAILED` naming the container path, never the value.
 */
export async function materialize(plan: MountPlan, sandbox: string, owner?: { uid: number; gid: number }): Promise<Materialized> {
  const root = await realpath(sandbox);
  const written: string[] = [];
  const createdDirs: string[] = [];

  const cleanup = async (): Promise<void> => {
    for (const f of written.splice(0)) await unlink(f).catch(() => undefined);
    for (const d of createdDirs.splice(0).reverse()) await rmdir(d).catch(() => undefined);
  };
  const fail = (containerPath: string, why: string, cause?: unknown): SipError =>
    new SipError('SIP_MATERIALIZE_FAILED', `cannot place secret file "${containerPath}" in the sandbox: ${why}`, { cause });

  let currentPath = '';
  try {
    for (const file of plan.files) {
      currentPath = file.containerPath;
      if (!isSandboxPath(file.containerPath)) throw fail(file.containerPath, 'not a relative path inside the sandbox');
      const target = join(root, file.containerPath);
      if (!inside(root, target)) throw fail(file.containerPath, 'resolves outside the sandbox');
      // Create missing parents one by one, remembering which are ours.
      const parent = dirname(target);
      let current = root;
      for (const seg of relative(root, parent).split(sep).filter(Boolean)) {
        current = join(current, seg);
        try {
          await mkdir(current, { mode: 0o700 });
          createdDirs.push(current);
          if (owner) await chown(current, owner.uid, owner.gid);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
      const realParent = await realpath(parent);
      if (!inside(root, realParent)) throw fail(file.containerPath, 'a directory on the way is a symlink out of the sandbox');

      const tmp = join(realParent, `.sip-${randomBytes(6).toString('hex')}`);
      const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o400);
      try {
        if (owner) await fh.chown(owner.uid, owner.gid);
        await fh.writeFile(file.bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      const final = join(realParent, target.slice(parent.length + 1));
      try {
        await rename(tmp, final); // replaces a symlink at the target itself, never follows it
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        throw fail(file.containerPath, (err as NodeJS.ErrnoException).code ?? 'rename failed', err);
      }
      written.push(final);
    }
  } catch (err) {
    await cleanup();
    if (err instanceof SipError) throw err;
    throw fail(currentPath, (err as NodeJS.ErrnoException).code ?? (err as Error).message, err);
  }
  return { files: [...written], cleanup };
}
