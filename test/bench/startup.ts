import { spawn } from 'node:child_process';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';

// Start-up figures, each measured in this run against a baseline measured
// the same way, runs interleaved so a drifting machine drifts both.

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** Wall time of one whole process, ms. */
function wallMs(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', () => resolve(Number(process.hrtime.bigint() - t) / 1e6));
  });
}

/** Median wall times of commands run in turn, `rounds` times each after one warm-up. */
export async function compareWallTimes(
  commands: Record<string, string[]>,
  rounds: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, number>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (let r = -1; r < rounds; r++) {
    for (const [name, [cmd, ...args]] of Object.entries(commands)) {
      const ms = await wallMs(cmd!, args, env);
      if (r >= 0) times[name]!.push(ms);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

/** A Marathon stand-in that answers `GET /v2/apps` with one app, so `sip marathon app list` does its whole job. */
export async function stubMarathon(): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.url?.startsWith('/v2/apps') ? { apps: [{ id: '/web', instances: 1, tasksRunning: 1, tasksHealthy: 1, tasks: [] }] } : {}));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

const kib = (pid: number, field: string): number =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);

/** Starts a server process and measures spawn → first 200 from `path`, then its RSS after `idleMs` of idling. */
export async function timeToReady(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  url: string,
  idleMs = 1000,
): Promise<{ readyMs: number; idleRssMiB: number }> {
  const t = process.hrtime.bigint();
  const child = spawn(cmd, args, { env, stdio: 'ignore' });
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const req = get(url, (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        });
        req.once('error', () => resolve(false));
        req.setTimeout(500, () => req.destroy());
      });
      if (ok) break;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${args.join(' ')} did not become ready`);
      await new Promise((r) => setTimeout(r, 2));
    }
    const readyMs = Number(process.hrtime.bigint() - t) / 1e6;
    await new Promise((r) => setTimeout(r, idleMs));
    return { readyMs, idleRssMiB: kib(child.pid!, 'VmRSS') / 1024 };
  } finally {
    child.kill('SIGKILL');
  }
}
