import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { processAlive } from '@secure-instance-profiles/framework-plugin/local';

/** Thrown by {@link holdRunLock} when another live process holds the lock. */
export class RunLockedError extends Error {
  constructor(
    message: string,
    readonly pid: number,
  ) {
    super(message);
    this.name = 'RunLockedError';
  }
}

/**
 * Takes an exclusive, pid-stamped lock file for this process (released when
 * it exits). A lock left by a process that is gone is taken over.
 * @throws RunLockedError naming the live holder, with `what` (e.g. "npm run demo on terraform/").
 */
export function holdRunLock(file: string, what: string): void {
  mkdirSync(dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      process.once('exit', () => {
        try {
          if (Number.parseInt(readFileSync(file, 'utf8'), 10) === process.pid) rmSync(file, { force: true });
        } catch {
          // already gone
        }
      });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid))
        throw new RunLockedError(`another ${what} is running (pid ${pid}); wait for it to end, or stop it, then run this again`, pid);
      rmSync(file, { force: true }); // its holder is gone
    }
  }
  throw new RunLockedError(`${what}: could not take ${file}`, 0);
}
