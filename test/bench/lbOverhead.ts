import { Agent, request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@secure-instance-profiles/framework-plugin/log';
import { freePort } from '@secure-instance-profiles/framework-plugin/net';
import { renderHaproxyConfig, startHaproxy, type Pool } from '@secure-instance-profiles/framework-plugin/local/edgelb';

/** Throughput and tail latency of one path. */
export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
}

/** A bounded closed-loop load: `total` GETs with `concurrency` keep-alive clients, loopback only. */
async function load(port: number, path: string, host: string, total: number, concurrency: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const t = process.hrtime.bigint();
      const req = request({ host: '127.0.0.1', port, path, agent, headers: { host } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
          else failed++;
          resolve();
        });
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end();
    });
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) await one();
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { rps: latencies.length / seconds, p50Ms: q(0.5), p99Ms: q(0.99), failed };
}

/**
 * binapp's `/healthz` directly and through HAProxy (EdgeLB's data plane,
 * Host-header routing as in the demo), same load, one run.
 */
export async function measureLbOverhead(binappPort: number, total = 4000, concurrency = 8): Promise<{ direct: LoadResult; viaHaproxy: LoadResult }> {
  const lbPort = await freePort();
  const statsPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sip-bench-lb-'));
  const pool: Pool = {
    name: 'auto-default',
    frontends: [
      {
        name: 'frontend_127.0.0.1_lb',
        bindAddress: '127.0.0.1',
        bindPort: lbPort,
        protocol: 'HTTP',
        rules: [{ hostEq: 'binapp.mesosphere.com', backend: 'first' }],
      },
    ],
    backends: [{ name: 'first', protocol: 'HTTP', balance: 'roundrobin', servers: [{ name: 'binapp', host: '127.0.0.1', port: binappPort }] }],
  };
  const haproxy = await startHaproxy({
    workDir: dir,
    statsPort,
    logger: createLogger({ name: 'bench', level: 'error' }),
    config: renderHaproxyConfig(pool, { statsSocket: join(dir, 'stats.sock'), statsPort }),
  });
  try {
    await load(binappPort, '/healthz', 'x', 500, concurrency); // warm-up
    await load(lbPort, '/healthz', 'binapp.mesosphere.com', 500, concurrency);
    const direct = await load(binappPort, '/healthz', 'binapp.mesosphere.com', total, concurrency);
    const viaHaproxy = await load(lbPort, '/healthz', 'binapp.mesosphere.com', total, concurrency);
    return { direct, viaHaproxy };
  } finally {
    await haproxy.stop();
  }
}
