import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SipError } from '../../core/errors/SipError.js';
import { busyNewBind } from '../../net/canBind.js';
import { waitFor } from '../../net/waitFor.js';

/** User options of {@link startHaproxy}. */
export interface HaproxyInit {
  /** Directory for the config, pid file and master socket. */
  workDir: string;
  /** The first configuration (checked before use). */
  config: string;
  /** Stats port of that config, polled on `/_haproxy_health_check` for readiness. */
  statsPort: number;
  logger: Logger;
  /** The binary. Default `haproxy`. */
  binary?: string;
}

/** A supervised HAProxy (master-worker mode). */
export interface Haproxy {
  /** Master pid (changes only if HAProxy died and was restarted). */
  readonly pid: () => number | undefined;
  /** How often it was restarted after dying. */
  readonly restarts: () => number;
  /**
   * Checks `config` with `haproxy -c`, then swaps it in with a seamless reload
   * (SIGUSR2 to the master; listening sockets are kept, no connection dropped).
   * @throws SipError `SIP_HAPROXY_CONFIG_INVALID`: the running config stays.
   */
  reload(config: string): Promise<void>;
  stop(): Promise<void>;
}

/** Sends one command to an HAProxy CLI socket (master CLI or runtime API) and returns the answer. */
export function haproxyCommand(socket: string, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('master CLI timed out'));
    }, timeoutMs);
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.end(`${command}\n`);
  });
}

/** From `show proc`: the master's reload count and the current worker's pid. */
function parseShowProc(text: string): { reloads: number; worker: number } | undefined {
  const master = /^\d+\s+master\s+(\d+)/m.exec(text);
  const workers = text.split('# workers')[1]?.split('#')[0] ?? '';
  const worker = /^(\d+)\s+worker\s+0\s/m.exec(workers);
  return master?.[1] && worker?.[1] ? { reloads: Number(master[1]), worker: Number(worker[1]) } : undefined;
}

/** Runs `haproxy -c -f file`. @throws SipError with HAProxy's own message when invalid. */
export async function checkHaproxyConfig(file: string, binary = 'haproxy'): Promise<void> {
  const out = await new Promise<{ code: number | null; text: string }>((resolve, reject) => {
    const child = spawn(binary, ['-c', '-q', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d));
    child.stderr.on('data', (d: Buffer) => (text += d));
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT' ? new SipError('SIP_HAPROXY_MISSING', `${binary} not found; install it: apt-get install -y haproxy`, { expose: true }) : err,
      ),
    );
    child.once('close', (code) => resolve({ code, text }));
  });
  if (out.code !== 0) {
    throw new SipError(
      'SIP_HAPROXY_CONFIG_INVALID',
      `haproxy rejected the configuration: ${
        out.text
          .trim()
          .split('\n')
          .filter((l) => /ALERT|error/i.test(l))
          .slice(0, 5)
          .join(' | ') || out.text.trim()
      }`,
      {
        expose: true,
      },
    );
  }
}

/**
 * Runs HAProxy as a real, supervised process in master-worker mode: every
 * config is checked with `haproxy -c` before use, reloads are seamless, and a
 * master that dies is started again.
 */
export async function startHaproxy(init: HaproxyInit): Promise<Haproxy> {
  const binary = init.binary ?? 'haproxy';
  const configFile = join(init.workDir, 'haproxy.cfg');
  const masterSocket = join(init.workDir, 'master.sock');
  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  let output = '';
  let started = false;
  let earlyExit: SipError | undefined;

  const install = async (config: string): Promise<void> => {
    const tmp = `${configFile}.new`;
    await writeFile(tmp, config);
    await checkHaproxyConfig(tmp, binary);
    await rename(tmp, configFile);
  };

  const launch = (): void => {
    // Its own process group (master and workers): after a kill -9 of the daemon, the next start stops all of it at once.
    const c = spawn(binary, ['-W', '-S', `${masterSocket},mode,600`, '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child = c;
    const keep = (d: Buffer): void => void (output = (output + d.toString()).slice(-4000));
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    const killOnExit = (): void => void c.kill('SIGKILL');
    process.once('exit', killOnExit);
    c.once('exit', (code, signal) => {
      process.removeListener('exit', killOnExit);
      if (stopping) return;
      if (!started) {
        const bind = /cannot bind socket[^\n]*\[([^\]]+)\]/.exec(output);
        earlyExit = bind
          ? new SipError('SIP_PORT_IN_USE', `haproxy cannot bind ${bind[1]}: the port is in use; choose another`, { expose: true })
          : new SipError('SIP_HAPROXY_FAILED', `haproxy exited at start (code ${code}): ${output.trim().split('\n').slice(-3).join(' | ')}`, { expose: true });
        return;
      }
      restarts++;
      init.logger.warn({ component: 'edgelb', code, signal, restarts }, 'haproxy exited; restarting');
      setTimeout(() => !stopping && launch(), 500).unref();
    });
  };

  const ready = (): Promise<boolean> =>
    waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${init.statsPort}/_haproxy_health_check`, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        return res.ok;
      },
      { what: `haproxy on stats port ${init.statsPort}`, timeoutMs: 10_000, intervalMs: 50, abortIf: () => earlyExit },
    );

  // HAProxy binds with SO_REUSEPORT, so a port another HAProxy holds (another
  // local cluster's EdgeLB) would be shared silently and half its requests
  // stolen: refuse a busy port before starting.
  const busy = await busyNewBind(init.config, '');
  if (busy) throw new SipError('SIP_PORT_IN_USE', `haproxy cannot bind ${busy}: the port is in use; choose another`, { expose: true });
  await install(init.config);
  let current = init.config;
  launch();
  try {
    await ready();
  } catch (err) {
    stopping = true;
    child?.kill('SIGKILL');
    throw err;
  }
  started = true;
  init.logger.info({ component: 'edgelb', pid: child?.pid }, 'haproxy running');

  /**
   * SIGUSR2 to the master, then waits (5 s) until its CLI counts one more
   * reload, and with `newWorker` a different worker. True when confirmed, or
   * when the master CLI cannot tell (nothing to compare with).
   */
  const signalReload = async (what: string, newWorker: boolean): Promise<boolean> => {
    const before = parseShowProc(await haproxyCommand(masterSocket, 'show proc').catch(() => ''));
    child?.kill('SIGUSR2');
    if (!before) return true;
    return waitFor(
      async () => {
        const now = parseShowProc(await haproxyCommand(masterSocket, 'show proc'));
        return now !== undefined && now.reloads > before.reloads && (!newWorker || now.worker !== before.worker);
      },
      { what, timeoutMs: 5000, intervalMs: 20 },
    ).then(
      () => true,
      () => false,
    );
  };

  return {
    pid: () => child?.pid,
    restarts: () => restarts,
    async reload(config) {
      // A port the new config binds that HAProxy does not hold yet must be free:
      // otherwise the new worker cannot start. Refuse before reloading.
      const busy = await busyNewBind(config, current);
      if (busy) throw new SipError('SIP_PORT_IN_USE', `port ${busy} is in use by another process; the config that binds it was not applied`);
      await install(config);
      // Done when the master counts one more reload and a new worker serves:
      // from then on no new connection reaches the old configuration.
      if (!(await signalReload('the haproxy reload', true))) {
        // The new worker did not start (e.g. a port it could not bind): put the
        // previous config back and reload it, so HAProxy serves what it served
        // before; the change is not applied, and the caller is told.
        const failedOutput = output;
        await install(current).catch(() => undefined);
        if (!(await signalReload('the haproxy rollback', false)))
          init.logger.error({ component: 'edgelb' }, 'rolling HAProxy back to the previous config was not confirmed');
        output = failedOutput;
        const why = output
          .trim()
          .split('\n')
          .filter((l) => /ALERT|cannot|error/i.test(l))
          .slice(-2)
          .join(' | ');
        throw new SipError('SIP_HAPROXY_FAILED', `HAProxy did not take the new configuration; the previous one still serves${why ? `: ${why}` : ''}`);
      }
      current = config;
    },
    async stop() {
      stopping = true;
      const c = child;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
        setTimeout(() => c.kill('SIGKILL'), 5000).unref();
      });
    },
  };
}
