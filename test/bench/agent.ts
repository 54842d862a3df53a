import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '@secure-instance-profiles/framework-plugin/net';
import { getMetrics } from '../src/fixtures/http.js';
import { createAppRole } from '../src/fixtures/appRole.js';
import { runProcess } from '../src/fixtures/process.js';

// sip agent, measured from inside real tasks of a real local cluster:
// - cached-credential requests per second and p99 with 8 keep-alive clients
//   (target ≥ 10,000 req/s, p99 < 2 ms on a 2-core machine), load from autocannon;
// - what one SDK credential resolution costs in each mode: HTTP round trips
//   to the instance metadata service, to STS and to the agent;
// - time from task start to its first credentials, each mode;
// - STS calls per task: endpoint mode shares one session per task (≤ 1 per
//   refresh window), file mode assumes the role in every SDK process.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SIP = join(ROOT, 'framework-plugin/bin/sip.mjs');
const STS = join(ROOT, 'node_modules/@aws-sdk/client-sts/dist-cjs/index.js');
const AUTOCANNON = join(ROOT, 'node_modules/autocannon/autocannon.js');

/** The script a task runs: times its first credentials, counts round trips, then (endpoint) loads the agent. */
const TASK_SCRIPT = `
import http from 'node:http';
const t0 = performance.timeOrigin;
const hosts = {};
const orig = http.request;
http.request = function (...a) { const u = typeof a[0] === 'string' ? new URL(a[0]) : a[0] instanceof URL ? a[0] : a[0]; const h = (u.hostname ?? u.host) + ':' + u.port; hosts[h] = (hosts[h] ?? 0) + 1; return orig.apply(this, a); };
const { STSClient, GetCallerIdentityCommand } = await import(process.env.STS_MODULE);
const sts = new STSClient({});
const creds = await sts.config.credentials();
const firstMs = Date.now() - t0;
const roundTrips = { ...hosts };
await sts.send(new GetCallerIdentityCommand({}));
const out = { mode: process.env.MODE, firstMs, roundTrips, expiration: creds.expiration };
if (process.env.MODE === 'endpoint') {
  // autocannon: a load generator lean enough not to be the bottleneck on 2 cores.
  const token = (await import('node:fs')).readFileSync(process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, 'utf8');
  const autocannon = (await import(process.env.AUTOCANNON_MODULE)).default;
  const r = await autocannon({ url: process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI, connections: 8, duration: Number(process.env.SECONDS), headers: { authorization: token } });
  Object.assign(out, { requests: r.requests.total, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors });
}
console.log('BENCH ' + JSON.stringify(out));
setInterval(() => {}, 1 << 30);
`;

/** Runs the agent benchmark; returns the lines to print. */
export async function benchAgent(seconds = Number(process.env.BENCH_AGENT_SECONDS ?? 5)): Promise<string[]> {
  const state = mkdtempSync(join(tmpdir(), 'sip-bench-agent-'));
  const scripts = mkdtempSync(join(tmpdir(), 'sip-bench-scripts-'));
  chmodSync(scripts, 0o755);
  writeFileSync(join(scripts, 'task.mjs'), TASK_SCRIPT, { mode: 0o644 });
  const env = { ...process.env, SIP_STATE_DIR: state };
  const sip = (args: string[], input?: string) => runProcess(process.execPath, [SIP, ...args], { env, ...(input === undefined ? {} : { input }) });
  try {
    const up = await sip(['cluster', 'up', '--lb-port', String(await freePort())]);
    if (up.code !== 0) throw new Error(`sip cluster up: ${up.err}`);
    const info = JSON.parse(readFileSync(join(state, 'cluster.json'), 'utf8'));
    const { awsConfig } = await createAppRole(state, 'bench', `bench-${Date.now()}`);
    await sip(['security', 'secrets', 'create', 'bench/aws-config'], awsConfig);
    const app = (mode: 'file' | 'endpoint') => ({
      id: `/bench/${mode}`,
      cmd: `${mode === 'file' ? 'export AWS_CONFIG_FILE="$MESOS_SANDBOX/aws-config"; ' : ''}exec node ${join(scripts, 'task.mjs')}`,
      cpus: 1,
      mem: 256,
      env: {
        MODE: mode,
        STS_MODULE: STS,
        AUTOCANNON_MODULE: AUTOCANNON,
        SECONDS: String(seconds),
        AWS_REGION: info.region,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      // File mode mounts the AWS config; endpoint mode names it by label (sip agent reads it, the task never does).
      ...(mode === 'file'
        ? {
            labels: { 'sip.aws.credentials': mode },
            secrets: { c: { source: 'bench/aws-config' } },
            container: { type: 'MESOS', volumes: [{ containerPath: 'aws-config', secret: 'c' }] },
          }
        : { labels: { 'sip.aws.credentials': mode, 'sip.aws.config-secret': 'bench/aws-config' } }),
    });
    const results: Record<string, any> = {};
    for (const mode of ['file', 'endpoint'] as const) {
      const added = await sip(['marathon', 'app', 'add'], JSON.stringify(app(mode)));
      if (added.code !== 0) throw new Error(`app add: ${added.err}`);
      // Polled without spawning anything (a CLI process per poll would take the CPU being measured).
      const token = readFileSync(join(state, 'acs-token'), 'utf8').trim();
      await waitFor(
        async () => {
          const res = await fetch(`${info.marathonUrl}/v2/apps/bench/${mode}/tasks`, { headers: { authorization: `token=${token}` } });
          const tasks = ((await res.json()) as { tasks?: Array<{ id: string }> }).tasks ?? [];
          const log = tasks[0] ? await readFile(join(state, 'sandboxes', tasks[0].id, 'stdout'), 'utf8').catch(() => '') : '';
          const line = /^BENCH (.*)$/m.exec(log)?.[1];
          if (line) results[mode] = { ...JSON.parse(line), taskId: tasks[0]!.id };
          return Boolean(line);
        },
        { what: `the ${mode}-mode task's measurements`, timeoutMs: 60_000 + seconds * 1000, intervalMs: 1000 },
      );
    }
    const metrics = await getMetrics(info.credentials.metricsUrl);
    const stsCalls = Number(/^sip_agent_sts_calls_total (\d+)/m.exec(metrics)?.[1] ?? NaN);
    const f = results.file;
    const e = results.endpoint;
    const rt = (r: Record<string, number>, host: string): number =>
      Object.entries(r)
        .filter(([h]) => h.startsWith(host))
        .reduce((n, [, c]) => n + c, 0);
    const imds = new URL(info.imdsEndpoint);
    const sts = new URL(info.awsEndpoint);
    const agentUrl = new URL(info.credentials.url);
    const refreshHours = (Date.parse(e.expiration) - Date.now()) / 3_600_000;
    return [
      '',
      `sip agent (endpoint mode) from inside a task, 8 keep-alive clients for ${seconds} s:`,
      `  cached credentials             ${e.rps.toFixed(0)} req/s (target ≥ 10000: ${e.rps >= 10_000 ? 'within target' : 'OVER TARGET'}), p50 ${e.p50} ms, p99 ${e.p99} ms (target < 2: ${e.p99 < 2 ? 'within target' : 'OVER TARGET'}; autocannon, 1 ms resolution), ${e.non2xx} non-200, ${e.errors} errors`,
      `  one SDK credential resolution  file mode: ${rt(f.roundTrips, `${imds.hostname}:${imds.port}`)} IMDS + ${rt(f.roundTrips, `${sts.hostname}:${sts.port}`)} STS round trips; endpoint mode: ${rt(e.roundTrips, `${agentUrl.hostname}:${agentUrl.port}`)} to the agent, ${rt(e.roundTrips, `${imds.hostname}:${imds.port}`)} IMDS, ${rt(e.roundTrips, `${sts.hostname}:${sts.port}`)} STS`,
      `  task start → first credentials file mode ${f.firstMs.toFixed(0)} ms, endpoint mode ${e.firstMs.toFixed(0)} ms (ratio ${(e.firstMs / f.firstMs).toFixed(2)})`,
      `  STS calls for the endpoint task ${stsCalls} for ${e.requests + 1} credential requests (sessions last ${refreshHours.toFixed(2)} h, refreshed 5 min before: ≤ ${(1 / Math.max(refreshHours - 5 / 60, 0.01)).toFixed(2)}/h per task); file mode: 1 per SDK process start plus 1/h per process`,
    ];
  } finally {
    await sip(['cluster', 'down']);
    rmSync(state, { recursive: true, force: true });
    rmSync(scripts, { recursive: true, force: true });
  }
}
