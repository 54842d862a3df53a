import { chmodSync, closeSync, constants, copyFileSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '@secure-instance-profiles/framework-plugin/net';
import { createAppRole } from '../src/fixtures/appRole.js';
import { runProcess } from '../src/fixtures/process.js';

// sip server against today's direct sip agent, from inside real tasks of a
// real local cluster with two agents, once per topology (the agents decide;
// two sip server replicas decide):
// - credential latency (p50, p99) from a task on each agent: the first
//   request of a task (the whole path: agent → server → master, Marathon,
//   STS) and cached ones (what the agent keeps until 5 min before expiry);
// - a start-up burst: BENCH_BURST_TASKS tasks (default 500) that only fetch
//   credentials, launched across the agents and released together once all
//   run (a barrier: the local scheduler launches ~5 tasks/s, so without one
//   the launch would pace the burst): time from the release to each task's
//   first credentials (p50, p99), and STS AssumeRole calls per second (from
//   the sessions' own issue times, STS's clock), against the configured cap
//   (--max-sts-calls, 10/s per deciding process).

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SIP = join(ROOT, 'framework-plugin/bin/sip.mjs');
/** A task fetches its credentials (retrying until its token is written), reports when and which session, then measures cached requests. */
const TASK = [
  // Burst tasks wait at a barrier (a FIFO: blocked in open, no polling) until every one of them runs.
  'if [ -n "$BARRIER" ]; then cat "$BARRIER" >/dev/null 2>&1; fi',
  't0=$(date +%s%3N)',
  'ask() { curl -s --max-time 120 -o "$MESOS_SANDBOX/creds.json" -w \'%{http_code} %{time_total}\' -H "Authorization: $(cat "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" 2>/dev/null)" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"; }',
  // Retried as the SDKs' container provider does (about a second apart), not in a tight loop.
  'until r=$(ask) && [ "${r%% *}" = 200 ]; do sleep 1; done',
  't1=$(date +%s%3N)',
  'session=$(jq -r .AccessKeyId "$MESOS_SANDBOX/creds.json" | sha256sum | cut -c1-16)',
  'issued=$(jq -r .Expiration "$MESOS_SANDBOX/creds.json")',
  'rm -f "$MESOS_SANDBOX/creds.json"',
  'echo "FIRST $t0 $t1 ${r#* } $session $issued"',
  'i=0; while [ "$i" -lt "${CACHED:-0}" ]; do r=$(ask); echo "CACHED ${r#* }"; i=$((i+1)); done; rm -f "$MESOS_SANDBOX/creds.json"',
  'echo DONE',
  'exec sleep 3600',
].join('\n');

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

interface Topology {
  /** Cached and first-request latency per task, ms. */
  firstMs: number[];
  cachedMs: number[];
  /** How long the burst's tasks took to be running, ms (the local scheduler's pace). */
  launchMs: number;
  /** Release → first credentials, ms, per burst task. */
  burstMs: number[];
  /** The task's own start → its first credentials, ms, per burst task (the launch's pace left out). */
  burstFromStartMs: number[];
  /** AssumeRole calls in each second of the burst (distinct sessions by issue second). */
  stsPerSecond: number[];
  stsCalls: number;
}

/** One topology: a cluster with two agents (and `servers` replicas), a role trusting whoever decides, the apps, their reports. */
async function measure(servers: number, burst: number): Promise<Topology> {
  const state = mkdtempSync(join(tmpdir(), 'sip-bench-server-'));
  const shared = mkdtempSync(join(tmpdir(), 'sip-bench-barrier-'));
  chmodSync(shared, 0o755);
  const barrier = join(shared, 'go');
  const env = { ...process.env, SIP_STATE_DIR: state };
  const sip = (args: string[], input?: string) => runProcess(process.execPath, [SIP, ...args], { env, ...(input === undefined ? {} : { input }) });
  try {
    const up = await sip([
      'cluster',
      'up',
      '--agents',
      '2',
      '--servers',
      String(servers),
      '--aws-credentials',
      'endpoint',
      '--lb-port',
      String(await freePort()),
    ]);
    if (up.code !== 0) {
      copyFileSync(join(state, 'cluster.log'), join(tmpdir(), 'sip-bench-server-cluster.log'));
      throw new Error(`sip cluster up: ${up.err.trim()} (its log kept: ${join(tmpdir(), 'sip-bench-server-cluster.log')})`);
    }
    const info = JSON.parse(readFileSync(join(state, 'cluster.json'), 'utf8'));
    // The role trusts whoever decides: the agents' instance profile, or sip server's role.
    const { awsConfig } = await createAppRole(state, 'bench', `bench-${Date.now()}`, servers > 0 ? info.serverRoleArn : info.agentRoleArn);
    await sip(['security', 'secrets', 'create', 'bench/aws-config'], awsConfig);
    const app = (id: string, instances: number, cached: number, constraints: string[][] = [], env: Record<string, string> = {}) => ({
      id,
      cmd: TASK,
      cpus: 0.01,
      mem: 32,
      instances,
      constraints,
      env: { CACHED: String(cached), ...env },
      labels: { 'sip.aws.credentials': 'endpoint', 'sip.aws.config-secret': 'bench/aws-config' },
    });
    const reports = (prefix: string): string[] =>
      readdirSync(join(state, 'sandboxes'))
        .filter((d) => d.startsWith(prefix))
        .map((d) => {
          try {
            return readFileSync(join(state, 'sandboxes', d, 'stdout'), 'utf8');
          } catch {
            return '';
          }
        });
    // Latency: one task on each agent, its first request, then 200 cached ones.
    const lat = await sip(['marathon', 'app', 'add'], JSON.stringify(app('/bench/latency', 2, 200, [['hostname', 'UNIQUE']])));
    if (lat.code !== 0) throw new Error(`app add: ${lat.err}`);
    await waitFor(async () => reports('bench_latency.').filter((r) => r.includes('DONE')).length === 2, {
      what: 'the latency tasks',
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    const latency = reports('bench_latency.');
    const firstMs = latency.flatMap((r) => [...r.matchAll(/^FIRST \d+ \d+ ([\d.]+)/gm)].map((m) => Number(m[1]) * 1000));
    const cachedMs = latency.flatMap((r) => [...r.matchAll(/^CACHED ([\d.]+)/gm)].map((m) => Number(m[1]) * 1000));
    // The burst: every task launched, then released together.
    const mkfifo = await runProcess('mkfifo', ['-m', '666', barrier]);
    if (mkfifo.code !== 0) throw new Error(`mkfifo: ${mkfifo.err}`);
    const launched = Date.now();
    const added = await sip(['marathon', 'app', 'add'], JSON.stringify(app('/bench/burst', burst, 0, [], { BARRIER: barrier })));
    if (added.code !== 0) throw new Error(`app add: ${added.err}`);
    const token = readFileSync(join(state, 'acs-token'), 'utf8').trim();
    await waitFor(
      async () => {
        const res = await fetch(`${info.marathonUrl}/v2/apps/bench/burst`, { headers: { authorization: `token=${token}` } });
        return ((await res.json()) as { app?: { tasksRunning?: number } }).app?.tasksRunning === burst;
      },
      { what: `${burst} burst tasks running`, timeoutMs: 600_000, intervalMs: 1000 },
    );
    const launchMs = Date.now() - launched;
    await new Promise((r) => setTimeout(r, 2000)); // the last ones reach the barrier
    // Release: a writer's open lets every waiting reader's open return, its close gives them end of file.
    const released = Date.now();
    const fd = openSync(barrier, constants.O_WRONLY | constants.O_NONBLOCK);
    await new Promise((r) => setTimeout(r, 1000));
    closeSync(fd);
    rmSync(barrier, { force: true });
    await waitFor(async () => reports('bench_burst.').filter((r) => r.includes('DONE')).length >= burst, {
      what: `${burst} burst tasks' first credentials`,
      timeoutMs: 600_000,
      intervalMs: 1000,
    });
    const firsts = reports('bench_burst.').flatMap((r) =>
      [...r.matchAll(/^FIRST (\d+) (\d+) [\d.]+ (\w+) (\S+)/gm)].map((m) => ({ start: Number(m[1]), at: Number(m[2]), session: m[3]!, issued: m[4]! })),
    );
    const bySecond = new Map<string, Set<string>>();
    for (const f of firsts) bySecond.set(f.issued.slice(0, 19), (bySecond.get(f.issued.slice(0, 19)) ?? new Set()).add(f.session));
    return {
      firstMs,
      cachedMs,
      launchMs,
      burstMs: firsts.map((f) => f.at - released),
      burstFromStartMs: firsts.map((f) => f.at - f.start),
      stsPerSecond: [...bySecond.values()].map((s) => s.size),
      stsCalls: new Set(firsts.map((f) => f.session)).size,
    };
  } finally {
    await sip(['cluster', 'down']);
    rmSync(state, { recursive: true, force: true });
    rmSync(shared, { recursive: true, force: true });
  }
}

/** Runs the server benchmark; returns the lines to print. */
export async function benchServer(burst = Number(process.env.BENCH_BURST_TASKS ?? 500)): Promise<string[]> {
  const direct = await measure(0, burst);
  const server = await measure(2, burst);
  const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const row = (what: string, d: number[], s: number[]): string =>
    `  ${what.padEnd(34)} direct p50 ${ms(pct(d, 50))} p99 ${ms(pct(d, 99))} ms; via server p50 ${ms(pct(s, 50))} p99 ${ms(pct(s, 99))} ms (ratio p99 ${(pct(s, 99) / pct(d, 99)).toFixed(2)})`;
  const cap = (t: Topology, deciders: number): string =>
    `max ${Math.max(...t.stsPerSecond)}/s (cap ${10 * deciders}/s: ${Math.max(...t.stsPerSecond) <= 10 * deciders ? 'within' : 'OVER'}), ${t.stsCalls} calls`;
  return [
    '',
    `sip server vs direct sip agent (two agents; two replicas), from inside tasks on each agent:`,
    row('a task’s first credentials (one per agent)', direct.firstMs, server.firstMs),
    row('cached credentials (200 per task)', direct.cachedMs, server.cachedMs),
    `start-up burst: ${burst} tasks across the agents (all running after ${(direct.launchMs / 1000).toFixed(0)} s / ${(server.launchMs / 1000).toFixed(0)} s), released together, each fetching its credentials:`,
    row('release → first credentials', direct.burstMs, server.burstMs),
    row('a task’s own wait (release → answer)', direct.burstFromStartMs, server.burstFromStartMs),
    `  STS AssumeRole per second        direct (2 agents decide) ${cap(direct, 2)}; via server (2 replicas, the agents spread over them) ${cap(server, 2)}`,
  ];
}
