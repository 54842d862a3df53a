import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isSipError, SipError } from '../../core/errors/SipError.js';
import { freePort } from '../../net/freePort.js';
import { waitFor } from '../../net/waitFor.js';
import type { Logger } from '../../log/logger.js';

/** User options of {@link startMotoServer}. */
export interface MotoServerInit {
  /** Python interpreter that has `moto[server]` installed. Default `python3`. */
  python?: string;
  /** Loopback address to bind. Default `127.0.0.1` (never `localhost`: the SDK would use virtual-host bucket URLs). */
  host?: string;
  /** Port; default a free one. */
  port?: number;
  /** Readiness timeout in ms. Default 20 000. */
  readyTimeoutMs?: number;
  logger: Logger;
}

/** A running moto server. */
export interface MotoServer {
  /** Base URL, e.g. `http://127.0.0.1:45123`, for `AWS_ENDPOINT_URL`. */
  readonly endpoint: string;
  /** OS process id of the server. */
  readonly pid: number;
  /**
   * Turns IAM enforcement on from the next request on (signatures, identity
   * and trust policies). A test fixture, not a security boundary: moto's
   * reset endpoint itself is unauthenticated.
   */
  enforceIam(): Promise<void>;
  /** Stops the server and waits for the process to exit. Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const LAUNCHER = fileURLToPath(new URL('./moto_launcher.py', import.meta.url));

/**
 * Starts moto's server (with the project's trust-policy fixes) on loopback and
 * resolves once it answers, never after a fixed sleep.
 *
 * IAM enforcement starts off so the caller can bootstrap identities; call
 * {@link MotoServer.enforceIam} afterwards.
 * @throws SipError `SIP_EMULATOR_MISSING` when python or moto is absent,
 *   `SIP_EMULATOR_START_FAILED` when the server exits or never becomes ready.
 */
export async function startMotoServer(init: MotoServerInit): Promise<MotoServer> {
  const host = init.host ?? '127.0.0.1';
  const attempts = init.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = init.port ?? (await freePort(host));
    try {
      return await launch({ ...init, host, port });
    } catch (err) {
      lastError = err;
      if (isSipError(err, 'SIP_EMULATOR_MISSING')) throw err;
    }
  }
  throw lastError;
}

async function launch(init: MotoServerInit & { host: string; port: number }): Promise<MotoServer> {
  const python = init.python ?? 'python3';
  const endpoint = `http://${init.host}:${init.port}`;
  // moto's admin API (data dump with every trust policy, reset-auth) answers
  // only requests with this token: the cluster's, never a task's.
  const adminToken = randomBytes(24).toString('base64url');
  const admin = { 'x-sip-emulator-admin': adminToken };
  const env: NodeJS.ProcessEnv = { ...process.env, SIP_MOTO_ADMIN_TOKEN: adminToken };
  // Enforcement is switched on explicitly after bootstrap, see enforceIam().
  delete env.INITIAL_NO_AUTH_ACTION_COUNT;
  const child = spawn(python, [LAUNCHER, '-H', init.host, '-p', String(init.port)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: a restart after a crash stops it whole
  });
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let stderrTail = '';
  const keepTail = (chunk: Buffer): void => {
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-4000);
  };
  child.stderr?.on('data', keepTail);
  child.stdout?.on('data', keepTail);

  let exited: Error | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      process.removeListener('exit', killOnExit);
      exited = describeEarlyExit(python, code, signal, stderrTail);
      resolve();
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      exited = err.code === 'ENOENT' ? new SipError('SIP_EMULATOR_MISSING', `${python} not found; install Python 3 and run: pip install 'moto[server]'`) : err;
      resolve();
    });
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && !exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exitedPromise;
      clearTimeout(timer);
    }
  };

  try {
    await waitFor(
      async () => {
        const res = await fetch(`${endpoint}/moto-api/data.json`, { headers: admin, signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        return res.ok;
      },
      { what: `moto server on ${endpoint}`, timeoutMs: init.readyTimeoutMs ?? 20_000, intervalMs: 100, abortIf: () => exited },
    );
  } catch (err) {
    await stop();
    if (isSipError(err, 'SIP_EMULATOR_MISSING')) throw err;
    throw new SipError('SIP_EMULATOR_START_FAILED', `moto server did not start on ${endpoint}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  init.logger.info({ component: 'emulator', endpoint, pid: child.pid }, 'moto server ready');

  return {
    endpoint,
    pid: child.pid ?? -1,
    async enforceIam() {
      const res = await fetch(`${endpoint}/moto-api/reset-auth`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', ...admin },
        body: '0',
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) {
        throw new SipError('SIP_EMULATOR_START_FAILED', `could not enable IAM enforcement: HTTP ${res.status}`);
      }
      await res.body?.cancel();
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

function describeEarlyExit(python: string, code: number | null, signal: string | null, tail: string): Error {
  if (/No module named ['"]?moto/.test(tail)) {
    return new SipError('SIP_EMULATOR_MISSING', `moto is not installed for ${python}; run: pip install 'moto[server]'`);
  }
  const last = tail.trim().split('\n').slice(-3).join(' | ');
  return new SipError('SIP_EMULATOR_START_FAILED', `moto server exited (code ${code}, signal ${signal}): ${last}`);
}
