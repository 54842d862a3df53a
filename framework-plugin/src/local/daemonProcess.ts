import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';

/** A daemon the local cluster started as its own process group (`sip agent`, `sip server`). */
export interface Daemon {
  /** Whether it has exited. */
  exited(): boolean;
  /** SIGTERM to its group, SIGKILL after 5 s; idempotent. */
  stop(): Promise<void>;
}

/**
 * Follows a detached child: its JSON log lines (stdout) go to the cluster log
 * under `component`, its stderr as warnings; `stop()` ends its process group
 * as a supervisor (systemd) would.
 */
export function superviseDaemon(child: ChildProcess, logger: Logger, component: string): Daemon {
  let exited = child.exitCode !== null;
  child.once('exit', () => (exited = true));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let entry: { msg?: string } | undefined;
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return void logger.info({ component, line: line.slice(0, 500) }, component);
    }
    logger.info({ component, ...entry }, entry?.msg ?? component);
  });
  createInterface({ input: child.stderr! }).on('line', (line) => logger.warn({ component, line: line.slice(0, 500) }, `${component} stderr`));
  return {
    exited: () => exited,
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone
        }
      }, 5000);
      await gone;
      clearTimeout(timer);
    },
  };
}
