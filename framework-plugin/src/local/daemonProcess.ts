import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';

/** A daemon the local cluster started as its own process group (`sip agent`, `sip server`). */
export interface Daemon {
  /** Whether it has exited. */
  exited(): boolean;
  /** Settles when it has exited (stopped, or died). */
  readonly whenExited: Promise<void>;
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
  const whenExited = exited ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));
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
    whenExited,
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

/** A process {@link keepRunning} can follow: it says when it exited and can be stopped. */
export interface Restartable {
  readonly whenExited: Promise<void>;
  stop(): Promise<void>;
}

/** A daemon {@link keepRunning} keeps: the running instance, how often it came back, and the stop that ends it for good. */
export interface KeptDaemon<T extends Restartable> {
  /** The instance running now (or the last one, while a restart is pending). */
  current(): T;
  /** How often it died and was started again. */
  restarts(): number;
  /** Stops it and every pending restart; idempotent. */
  stop(): Promise<void>;
}

/** The first wait before a restart (systemd's `RestartSec=1`), and the most it grows to while starts keep failing. */
export const RESTART_DELAY_MS = 1000;
export const RESTART_DELAY_MAX_MS = 30_000;
/** Up this long, a daemon that dies is restarted after the first delay again. */
const STABLE_MS = 30_000;

/**
 * Keeps a daemon running as systemd's `Restart=always` does on a node: when
 * it exits without being stopped it is started again after
 * {@link RESTART_DELAY_MS}, the wait doubling (to {@link RESTART_DELAY_MAX_MS})
 * while it keeps dying young or failing to start. `onRestart` hears each new
 * instance (e.g. to record its pid).
 */
export async function keepRunning<T extends Restartable>(
  start: () => Promise<T>,
  opts: { logger: Logger; component: string; onRestart?: (instance: T) => void },
): Promise<KeptDaemon<T>> {
  let current = await start();
  let upSince = Date.now();
  let restarts = 0;
  // Halved here so that the first death (young or not) waits RESTART_DELAY_MS; each further young one doubles it.
  let delay = RESTART_DELAY_MS / 2;
  let stopping = false;
  let wake: (() => void) | undefined;
  const restart = async (): Promise<void> => {
    delay = Date.now() - upSince >= STABLE_MS ? RESTART_DELAY_MS : Math.min(delay * 2, RESTART_DELAY_MAX_MS);
    while (!stopping) {
      opts.logger.warn({ component: opts.component, restarts: restarts + 1, inMs: delay }, `${opts.component} exited; restarting`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => (clearTimeout(timer), resolve());
      });
      wake = undefined;
      if (stopping) return;
      try {
        const next = await start();
        restarts++;
        current = next;
        upSince = Date.now();
        if (stopping) return void (await next.stop());
        watch(next);
        opts.onRestart?.(next);
        return;
      } catch (err) {
        opts.logger.error({ component: opts.component, err: { message: (err as Error).message } }, `${opts.component} did not start again`);
        delay = Math.min(delay * 2, RESTART_DELAY_MAX_MS);
      }
    }
  };
  const watch = (instance: T): void => {
    void instance.whenExited.then(() => {
      if (!stopping && current === instance) void restart();
    });
  };
  watch(current);
  let stopped: Promise<void> | undefined;
  return {
    current: () => current,
    restarts: () => restarts,
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        wake?.();
        await current.stop();
      })()),
  };
}
