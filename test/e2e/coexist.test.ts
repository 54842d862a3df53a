import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '@secure-instance-profiles/framework-plugin/net';
import { isRunState } from '@secure-instance-profiles/framework-plugin/local/terraform';
import { runProcess, type Ran } from '../src/fixtures/process.js';
import { viaHost } from '../src/fixtures/http.js';

// Every command after every other, as a developer runs them on one machine
// (issue #20): `npm run demo` leaves its cluster up and writes the local
// cluster's endpoint and admin keys into terraform/local-cluster.auto.tfvars.json,
// which Terraform auto-loads. Then the suites' own Terraform stack, a suite
// as `npm test` runs it, and the bench (reduced) must still work, each with
// its own emulator, state and ports; then `--down`. The demo runs on a copy
// of terraform/ and marathon/ (SIP_TERRAFORM_DIR, which the suites' stack and
// the bench read too), so a developer's own demo is never touched.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SIP = join(ROOT, 'framework-plugin/bin/sip.mjs');
const HOST = 'binapp.mesosphere.com';
const checkout = mkdtempSync(join(tmpdir(), 'sip-coexist-checkout-'));
for (const dir of ['terraform', 'marathon']) cpSync(join(ROOT, dir), join(checkout, dir), { recursive: true, filter: (p) => !isRunState(p) });
const TF_DIR = join(checkout, 'terraform');
const demoState = mkdtempSync(join(tmpdir(), 'sip-coexist-demo-'));
const otherState = mkdtempSync(join(tmpdir(), 'sip-coexist-other-'));
const demoVars = join(TF_DIR, 'local-cluster.auto.tfvars.json');
let env: NodeJS.ProcessEnv = {};
let lbPort = 0;

const run = (cmd: string, args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Ran> =>
  runProcess(cmd, args, { cwd: ROOT, env: { ...process.env, ...env, ...extra } });
const sip = (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Ran> => run(process.execPath, [SIP, ...args], extra);
const tail = (r: Ran): string => `exit ${r.code}\n${(r.out + r.err).slice(-3000)}`;
/** The demo's app through its EdgeLB, as curl -H "Host: …" <lb>/ping would see it. */
const demoRoutes = async (times: number): Promise<number[]> => {
  const statuses: number[] = [];
  for (let i = 0; i < times; i++) statuses.push((await viaHost(lbPort, 'GET', '/ping', HOST).catch(() => ({ status: 0 }))).status);
  return statuses;
};
const noStackTrace = (text: string): void => assert.not.match(text, /^\s+at .+:\d+:\d+\)?$/m, 'no raw stack trace');

const coexist = suite('every command after every other (demo, suites, bench, --down)');

coexist.before(async () => {
  lbPort = await freePort();
  env = { SIP_STATE_DIR: demoState, SIP_LB_PORT: String(lbPort), SIP_TERRAFORM_DIR: TF_DIR };
});

coexist.after(async () => {
  if (existsSync(join(demoState, 'cluster.json'))) await run('npm', ['run', 'demo', '--', '--down']);
  if (existsSync(join(otherState, 'cluster.json'))) await sip(['cluster', 'down'], { SIP_STATE_DIR: otherState });
  for (const d of [checkout, demoState, otherState]) rmSync(d, { recursive: true, force: true });
});

coexist('npm run demo leaves its cluster up and its variables (endpoint, admin keys) where terraform auto-loads them', async () => {
  const demo = await run('npm', ['run', 'demo']);
  assert.is(demo.code, 0, tail(demo));
  assert.ok(existsSync(demoVars), 'the demo wrote local-cluster.auto.tfvars.json beside the module');
  assert.ok(JSON.parse(readFileSync(demoVars, 'utf8')).aws_access_key, 'with the emulator admin key in it');
  assert.equal(await demoRoutes(3), [200, 200, 200]);
});

coexist('a second npm run demo on the same terraform/ while one runs: refused in one line, nothing touched', async () => {
  const lock = join(TF_DIR, '.terraform', 'sip-demo.lock');
  mkdirSync(join(TF_DIR, '.terraform'), { recursive: true });
  writeFileSync(lock, `${process.pid}\n`); // a live holder: this process
  try {
    const second = await run('npm', ['run', 'demo']);
    assert.is(second.code, 1, tail(second));
    assert.match(second.err, new RegExp(`another npm run demo on .* is running \\(pid ${process.pid}\\); wait for it to end`));
    noStackTrace(second.out + second.err);
  } finally {
    rmSync(lock, { force: true });
  }
  assert.equal(await demoRoutes(3), [200, 200, 200], 'the running demo still serves');
});

coexist("npm test's stack (emulator + terraform apply of the same module) starts while the demo's cluster is up", async () => {
  process.env.SIP_TERRAFORM_DIR = TF_DIR; // the module the demo just wrote its variables into
  const { startStack } = await import('../src/fixtures/stack.js');
  const stack = await startStack();
  try {
    assert.is.not(stack.emulator.endpoint, JSON.parse(readFileSync(demoVars, 'utf8')).aws_endpoint, 'its own emulator, not the demo one');
    await stack.adminS3.send(new HeadBucketCommand({ Bucket: stack.bucket })); // applied in its own emulator
    assert.match(stack.terraformLog(), /Apply complete!/);
    assert.equal(await demoRoutes(3), [200, 200, 200], "the demo's app is still routed");
  } finally {
    await stack.stop();
    delete process.env.SIP_TERRAFORM_DIR;
  }
  assert.ok(existsSync(demoVars), "the demo's variables are left as they were");
});

coexist("another cluster asking for the demo's EdgeLB port is refused in one line, and never shares it", async () => {
  const other = await sip(['cluster', 'up', '--lb-port', String(lbPort)], { SIP_STATE_DIR: otherState });
  assert.is(other.code, 1, tail(other));
  assert.match(other.err, new RegExp(`^sip: haproxy cannot bind 127\\.0\\.0\\.1:${lbPort}: the port is in use.*\\(SIP_PORT_IN_USE\\)$`, 'm'));
  noStackTrace(other.out + other.err);
  // HAProxy binds with SO_REUSEPORT: had a second one started, about half of these would reach it (404).
  assert.equal(new Set(await demoRoutes(20)), new Set([200]));
});

coexist('a suite that provisions its own Terraform stack passes while the demo is up (as npm test runs it)', async () => {
  const ran = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'test/src/runner/main.ts'), '--only', 'integration', 'spine.test']);
  assert.is(ran.code, 0, tail(ran));
  assert.match(ran.out, /\n\d+ passed, 0 failed/);
  assert.equal(await demoRoutes(3), [200, 200, 200]);
});

coexist('npm run bench (reduced) passes while the demo is up; a failure is one line with its code, the detail in a log', async () => {
  const reduced = {
    BENCH_UPLOAD_MIB: '8',
    BENCH_ROUNDS: '1',
    BENCH_BIG_MIB: '32',
    BENCH_STARTUP_ROUNDS: '2',
    BENCH_AGENT_SECONDS: '1',
    BENCH_BURST_TASKS: '20',
  };
  const bench = await run('npm', ['run', 'bench'], reduced);
  assert.is(bench.code, 0, tail(bench));
  assert.match(bench.out, /upload throughput/);
  assert.match(bench.out, /sip agent/);
  assert.match(bench.out, /sip server vs direct sip agent/);
  noStackTrace(bench.out + bench.err);

  const broken = await run('npm', ['run', 'bench'], { ...reduced, SIP_TERRAFORM_DIR: join(checkout, 'no-such-module') });
  assert.is(broken.code, 1, tail(broken));
  assert.match(broken.err, /^npm run bench failed: no Terraform module at .*no-such-module \(SIP_TERRAFORM_FAILED\)$/m);
  assert.match(broken.err, /details: .*sip-bench\.log/);
  noStackTrace(broken.out + broken.err);
});

coexist('npm run demo -- --down after all of it: green, its variables and cluster gone', async () => {
  const down = await run('npm', ['run', 'demo', '--', '--down']);
  assert.is(down.code, 0, tail(down));
  assert.not.ok(existsSync(demoVars));
  assert.not.ok(existsSync(join(demoState, 'cluster.json')));
  assert.equal(await demoRoutes(1), [0], 'nothing listens on the demo LB port any more');
});

coexist.run();
