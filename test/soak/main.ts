import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { deploySoakApps, type SoakApp } from './apps.js';
import { startSoakCluster } from './cluster.js';
import { credentialGap, LeakScanner, lostSince, notRecovered } from './checks.js';
import { FAULTS } from './faults.js';
import { Ledger, pause } from './ledger.js';
import { MemorySampler } from './memory.js';
import { Operations } from './operations.js';
import { renderMarkdown, renderSvg } from './report.js';
import type { SoakReport } from './types.js';
import { Uploads } from './uploads.js';

// npm run soak [-- --minutes N] [--out DIR]: a local cluster (two agents,
// file and endpoint mode side by side) under a load mix while faults are
// injected one after another, each kind in turn; the invariants checked as it
// runs; report.md, report.json and report.svg in --out (default soak-report/).
// Exits 1 when any invariant broke.

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: process.env.SOAK_MINUTES ?? '10' },
    out: { type: 'string', default: 'soak-report' },
    'max-upload-mib': { type: 'string', default: '64' },
  },
});
const minutes = Number(values.minutes);
if (!(minutes > 0)) throw new Error('--minutes must be a positive number');
const out = resolve(values.out!);
mkdirSync(out, { recursive: true });
const say = (line: string): void => void process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** Bounds the README states: a running task's longest credential gap; memory growth per hour that still counts as bounded. */
const GAP_BOUND_MS = 20_000;
const MEMORY_BOUND_MIB_PER_HOUR = 256;

const ledger = new Ledger();
const cluster = await startSoakCluster({ agents: 2, tmpfsMiB: 512, log: say });
let stopping = false;
process.once('SIGINT', () => (stopping = true));
const tasks: Array<Promise<unknown>> = [];
let failure: unknown;
try {
  say(`cluster up (state ${cluster.stateDir}); deploying`);
  const { apps, bucket, secrets } = await deploySoakApps(cluster);
  const leaks = new LeakScanner(ledger);
  for (const a of apps) if (a.externalId) leaks.add(`the external id of ${a.id}`, a.externalId);
  leaks.add("the emulator admin's secret key", cluster.emulator.admin.credentials.secretAccessKey);
  const declared: SoakApp[] = apps;
  const readyBy = Date.now() + 180_000;
  while ((await notRecovered(cluster, declared)) !== undefined) {
    if (Date.now() > readyBy) {
      const listed = (await cluster.marathon('GET', '/v2/apps')).body as { apps?: Array<Record<string, unknown>> } | undefined;
      const state = (listed?.apps ?? []).map((a) => `${String(a.id)} ${String(a.tasksRunning)}/${String(a.instances)} healthy ${String(a.tasksHealthy)}`);
      throw new Error(`the soak apps did not become healthy behind EdgeLB within 180 s: ${state.join(', ')}`);
    }
    await pause(1000);
  }
  say('apps healthy behind EdgeLB: load and faults start');
  const started = Date.now();
  const endAt = started + minutes * 60_000;
  const over = (): boolean => stopping || Date.now() >= endAt;
  const uploads = new Uploads(ledger, bucket, cluster.emulator, Number(values['max-upload-mib']) * 2 ** 20, (w, t) => leaks.scan(w, t));
  const ops = new Operations(cluster, ledger, apps, bucket, secrets, (w, t) => leaks.scan(w, t));
  const memory = new MemorySampler();
  const counted = new Map<string, number>();
  let gap = { longestMs: 0, at: null as number | null };

  // Load: two upload streams, one per delivery mode.
  for (const app of apps.filter((a) => a.host))
    tasks.push(
      (async () => {
        while (!over()) await uploads.uploadOnce(cluster.info().edgelbUrl, app.host!, app.mode);
      })(),
    );
  // Operations all along, faults or not (as operators deploy on a bad day too); the declared state follows what was acknowledged.
  tasks.push(
    (async () => {
      for (let n = 0; !over(); n++) {
        await pause(5000, over);
        if (!over()) await ops.run(n);
      }
    })(),
  );
  // Samples and the quick checks, every 5 s: the daemon's supervision, memory, leaks, the credential gap.
  tasks.push(
    (async () => {
      while (!over()) {
        await pause(5000, over);
        // The harness is the daemon's supervisor: a daemon that died on its own is a failure, and is started again.
        if (!cluster.daemonAlive() && !cluster.restarting()) {
          await pause(2000);
          if (!cluster.daemonAlive() && !cluster.restarting()) {
            ledger.violate(`the cluster daemon (pid ${cluster.info().pid}) died on its own`);
            await cluster.restartDaemon().catch((err: Error) => ledger.violate(`the cluster daemon did not start again: ${err.message}`));
          }
        }
        for (const p of cluster.processes()) {
          if (p.what.startsWith('sip agent')) memory.sample(p.what, p.pid);
          else if (p.what === 'haproxy') memory.sample('haproxy', p.pid, true);
          else if (/^task soak_(file|endpoint)_bin\./.test(p.what)) memory.sample(`binapp (${p.what.includes('file') ? 'file' : 'endpoint'})`, p.pid);
        }
        if (cluster.daemonAlive()) memory.sample('cluster daemon', cluster.info().pid);
        leaks.learnIssued(cluster);
        leaks.scanFiles(cluster);
        const g = credentialGap(cluster, ledger, counted);
        if (g.longestMs > gap.longestMs) gap = g;
      }
    })(),
  );
  // The slow checks, in a loop of their own: uploads read back, the bucket swept, apps and secrets compared.
  tasks.push(
    (async () => {
      for (let i = 0; !over(); i++) {
        await pause(3000, over);
        await uploads.verify();
        if (i % 10 === 9) {
          await uploads.sweep();
          const lost = await lostSince(cluster, declared, secrets);
          for (const a of lost.apps) ledger.violate(`app ${a} acknowledged, now missing`);
          for (const s of lost.secrets) ledger.violate(`secret ${s} lost`);
        }
      }
    })(),
  );
  // Faults: each kind in turn, one at a time, each followed by its recovery.
  const faults: SoakReport['faults'] = {};
  for (const f of FAULTS) faults[f.kind] = { count: 0, recoveryMs: [], p50Ms: null, maxMs: null, boundMs: f.boundMs };
  for (let round = 0; ; round++) {
    for (const f of FAULTS) {
      if (over() || endAt - Date.now() < 45_000) break;
      ledger.fault(f.kind);
      const note = await f.inject(cluster, round);
      const ended = Date.now();
      let ms: number | null = null;
      let why: string | undefined;
      let lastWhy: string | undefined;
      while (Date.now() - ended < f.boundMs * 2 && !stopping) {
        if ((why = await notRecovered(cluster, declared)) === undefined) {
          ms = Date.now() - ended;
          break;
        }
        lastWhy = why;
        await pause(500);
      }
      // A slow recovery says what it waited for last.
      if (ms !== null && ms > 10_000) say(`${f.kind}: waited ${ms} ms, last for: ${lastWhy}`);
      faults[f.kind]!.count++;
      faults[f.kind]!.recoveryMs.push(ms);
      say(`${f.kind} (${note}): ${ms === null ? `NOT recovered (${why})` : `recovered in ${ms} ms`}`);
      if (ms === null || ms > f.boundMs) ledger.violate(`${f.kind}: recovery ${ms === null ? `never came (${why})` : `took ${ms} ms`} (bound ${f.boundMs} ms)`);
      await pause(2000, over);
    }
    if (over() || endAt - Date.now() < 45_000) break;
  }
  while (!over()) await pause(1000);
  stopping = true;
  await Promise.all(tasks);
  // The end: every acknowledged upload read back, what was acknowledged still there, every file scanned once more.
  await uploads.verify();
  await pause(3000);
  await uploads.verify(true);
  await uploads.sweep();
  const lost = await lostSince(cluster, declared, secrets);
  for (const a of lost.apps) ledger.violate(`app ${a} acknowledged, now missing`);
  for (const s of lost.secrets) ledger.violate(`secret ${s} lost`);
  leaks.learnIssued(cluster);
  leaks.scanFiles(cluster);
  const g = credentialGap(cluster, ledger, counted);
  if (g.longestMs > gap.longestMs) gap = g;
  if (gap.longestMs > GAP_BOUND_MS) ledger.violate(`a running task went ${gap.longestMs} ms without credentials (bound ${GAP_BOUND_MS} ms)`);
  // Each kind is judged on its longest life if that spans two minutes: the daemon's kill -9 takes its children along every round, and deploys replace binapp's tasks.
  const mem = memory.report(MEMORY_BOUND_MIB_PER_HOUR, 120_000);
  if (!(ledger.requests.credentials?.['200'] ?? 0)) ledger.violate('the credential probes never got credentials');
  for (const [k, m] of Object.entries(mem))
    if (!m.bounded) ledger.violate(`${k}: memory grows ${m.slopeMiBPerHour} MiB/h (bound ${MEMORY_BOUND_MIB_PER_HOUR})`);
  for (const f of Object.values(faults)) {
    const done = f.recoveryMs.filter((x): x is number => x !== null).sort((a, b) => a - b);
    f.p50Ms = done[Math.floor(done.length / 2)] ?? null;
    f.maxMs = f.recoveryMs.includes(null) ? null : (done.at(-1) ?? null);
  }
  uploads.destroy();
  const report: SoakReport = {
    startedAt: new Date(started).toISOString(),
    endedAt: new Date().toISOString(),
    plannedMinutes: minutes,
    durationSeconds: Math.round((Date.now() - started) / 1000),
    cluster: { agents: 2, defaultMode: 'file', apps: apps.map((a) => ({ id: a.id, mode: a.mode, instances: a.instances })) },
    requests: ledger.requests,
    faults,
    credentialGap: { longestMs: gap.longestMs, atSecond: gap.at === null ? null : ledger.second(gap.at), boundMs: GAP_BOUND_MS },
    uploads: uploads.stats,
    leaks: leaks.leaks,
    lost,
    memory: mem,
    timeline: ledger.timeline(),
    notInjected: {
      ...(cluster.tmpfs ? {} : { 'state dir full': 'not root: the state dir is not on a file system of its own' }),
      ...(cluster.clockFile ? {} : { 'clock step': 'libfaketime is not installed (apt-get install faketime)' }),
      'kill -9 of the emulator':
        'the emulator is AWS here, and moto keeps all of AWS (roles, buckets, the objects uploads stored) in memory only: a kill -9 would lose them, which tests moto, not this project; an AWS that answers nothing is the 30 s freeze',
    },
    violations: ledger.violations,
  };
  writeFileSync(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(out, 'report.md'), renderMarkdown(report));
  writeFileSync(join(out, 'report.svg'), renderSvg(report));
  say(`report: ${join(out, 'report.md')}`);
  process.stdout.write(renderMarkdown(report));
} catch (err) {
  failure = err;
  ledger.violate(`the soak itself failed: ${(err as Error).message}`);
} finally {
  stopping = true;
  await Promise.allSettled(tasks);
  try {
    copyFileSync(join(cluster.stateDir, 'cluster.log'), join(out, 'cluster.log'));
  } catch {
    // no log
  }
  await cluster.stop();
}
if (failure) console.error(failure);
process.exit(ledger.violations.length > 0 ? 1 : 0);
