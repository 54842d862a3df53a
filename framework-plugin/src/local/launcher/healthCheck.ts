import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { HealthCheck } from '../../core/marathon/appDefinition.js';

/** The outcome of one probe. */
export type ProbeResult = { ok: true } | { ok: false; reason: string };

/** Where and how to probe one task. */
export interface ProbeTarget {
  host: string;
  ports: readonly number[];
  sandbox: string;
  env: Record<string, string>;
  /** Run COMMAND checks as the task's user (they are the app's code), never as the agent's. */
  user?: { uid: number; gid: number };
}

/**
 * Runs one health-check probe as Mesos/Marathon would: HTTP(S) and MESOS_HTTP(S)
 * → a status in 200–399; TCP → a connection; COMMAND → exit code 0; each
 * within `timeoutSeconds`.
 */
export async function probe(hc: HealthCheck, target: ProbeTarget): Promise<ProbeResult> {
  const timeoutMs = Math.max(1, hc.timeoutSeconds) * 1000;
  const port = hc.port ?? target.ports[hc.portIndex ?? 0];
  if (hc.protocol === 'COMMAND') return command(hc.command?.value ?? 'false', target, timeoutMs);
  if (port === undefined) return { ok: false, reason: 'no port to probe' };
  if (hc.protocol === 'TCP' || hc.protocol === 'MESOS_TCP') return tcp(target.host, port, timeoutMs);
  const scheme = hc.protocol.endsWith('HTTPS') ? 'https' : 'http';
  try {
    const res = await fetch(`${scheme}://${target.host}:${port}${hc.path ?? '/'}`, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await res.body?.cancel();
    return res.status >= 200 && res.status < 400 ? { ok: true } : { ok: false, reason: `HTTP ${res.status}` };
  } catch (err) {
    return { ok: false, reason: (err as Error).name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : 'connection failed' };
  }
}

function tcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (r: ProbeResult): void => {
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(timeoutMs, () => done({ ok: false, reason: `timed out after ${timeoutMs} ms` }));
    socket.once('connect', () => done({ ok: true }));
    socket.once('error', () => done({ ok: false, reason: 'connection refused' }));
  });
}

function command(value: string, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', value], {
      cwd: target.sandbox,
      env: target.env,
      stdio: 'ignore',
      timeout: timeoutMs,
      ...(target.user ? { uid: target.user.uid, gid: target.user.gid } : {}),
    });
    child.once('exit', (code, signal) =>
      resolve(code === 0 ? { ok: true } : { ok: false, reason: signal ? `killed (${signal}) after ${timeoutMs} ms` : `exit code ${code}` }),
    );
    child.once('error', () => resolve({ ok: false, reason: 'could not run the command' }));
  });
}
