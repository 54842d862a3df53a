import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, waitFor } from '@secure-instance-profiles/framework-plugin/net';
import { runProcess, type Ran } from '../src/fixtures/process.js';
import { assertNoLeaks } from '../src/fixtures/leaks.js';

// `npm run demo -- --credentials endpoint` as a user runs it: two agents,
// two sip server replicas, the app role trusting only the servers' role
// (Terraform's server_role_arn); binapp's credentials come through its
// agent's sip agent from a server. Then what an operator meets: a replica
// dies and the agent's next credentials come from the other; binapp's agent
// dies and EdgeLB serves it again from the other agent; `--down`.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SIP = join(ROOT, 'framework-plugin/bin/sip.mjs');
const state = mkdtempSync(join(tmpdir(), 'sip-e2e-server-'));
const checkout = mkdtempSync(join(tmpdir(), 'sip-e2e-server-checkout-'));
const notRunState = (src: string): boolean => !/(^|\/)(\.terraform|\.terraformrc|terraform\.tfstate[^/]*|[^/]*\.auto\.tfvars\.json)$/.test(src);
for (const dir of ['terraform', 'marathon']) cpSync(join(ROOT, dir), join(checkout, dir), { recursive: true, filter: notRunState });
const HOST = 'binapp.mesosphere.com';
let env: NodeJS.ProcessEnv = {};

const run = (cmd: string, args: string[], input?: string): Promise<Ran> =>
  runProcess(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, ...(input === undefined ? {} : { input }) });
const sip = (args: string[]): Promise<Ran> => run(process.execPath, [SIP, ...args]);
const info = (): Record<string, any> => JSON.parse(readFileSync(join(state, 'cluster.json'), 'utf8'));
const clusterLog = (): string => readFileSync(join(state, 'cluster.log'), 'utf8');
const issuedViaServer = (): number =>
  clusterLog()
    .split('\n')
    .filter((l) => l.includes('"via":"sip server"')).length;

/** POST /bin through EdgeLB: the status. */
function post(lb: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${lb}/bin`, { method: 'POST', headers: { Host: HOST }, auth: 'testuser:password', agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', () => resolve(0));
    req.once('timeout', () => req.destroy());
    req.end('hello');
  });
}

const e2e = suite('walk-through with sip server (npm run demo -- --credentials endpoint)');

e2e.before(async () => {
  env = { SIP_STATE_DIR: state, SIP_LB_PORT: String(await freePort()), SIP_TERRAFORM_DIR: join(checkout, 'terraform') };
});

e2e.after(async () => {
  if (existsSync(join(state, 'cluster.json'))) await sip(['cluster', 'down']);
  rmSync(state, { recursive: true, force: true });
  rmSync(checkout, { recursive: true, force: true });
});

e2e('npm run demo -- --credentials endpoint: two agents, two servers, the app role trusting only the servers; binapp served', async () => {
  const demo = await run('npm', ['run', 'demo', '--', '--credentials', 'endpoint']);
  assert.is(demo.code, 0, demo.out.slice(-3000));
  assert.is((demo.out.match(/✓ done in/g) ?? []).length, 9);
  assert.match(demo.out, 'npx sip cluster up --agents 2 --servers 2 --aws-credentials endpoint');
  assert.match(demo.out, /server_role_arn = arn:aws:iam::\d+:role\/sip-local-server \(sip server's: the only role the app role trusts\)/);
  const step4 = demo.out.slice(demo.out.indexOf('\n[4]'), demo.out.indexOf('\n[5]'));
  assert.match(step4, "its agent's sip agent asks sip server (https://127.0.0.201:", step4);
  assert.match(demo.out, 'never started: the secret is only for apps under /instance-profile-app (exit 6)');
  if (info().enforcesIam) assert.match(demo.out, /as root on the agent \(SDK default chain\)\n {4}\| denied: AccessDenied\n/);
  assert.ok(issuedViaServer() >= 1, "binapp's credentials were issued through sip server");
  const trust = await run('terraform', ['-chdir=' + join(checkout, 'terraform'), 'output', '-raw', 'server_role_arn']);
  assert.is(trust.out.trim(), info().serverRoleArn, 'Terraform: the app role trusts the servers’ role');
});

e2e('a replica dies: binapp (a fresh task) gets its credentials from the other; its agent dies: EdgeLB serves it again from the other agent', async () => {
  const i = info();
  assert.is(i.servers.length, 2);
  // The replica in use dies (kill -9, as a master's loss), then binapp restarts: its new task's credentials come from the other.
  const before = issuedViaServer();
  process.kill(Number(/"sip server 1","pid":(\d+)/.exec(readFileSync(join(state, 'processes.json'), 'utf8'))?.[1] ?? NaN), 'SIGKILL');
  const restart = await sip(['marathon', 'app', 'restart', '/instance-profile-app', '--wait']);
  assert.is(restart.code, 0, restart.out + restart.err);
  await waitFor(async () => (await post(i.edgelbUrl)) === 201, { what: 'binapp stores a bin after the restart', timeoutMs: 60_000, intervalMs: 500 });
  assert.ok(issuedViaServer() > before, 'new credentials issued through the remaining replica');
  // binapp's agent dies: Marathon replaces the task on the other agent, EdgeLB follows.
  const tasks = JSON.parse((await sip(['marathon', 'task', 'list', '--json'])).out) as Array<{ host: string }>;
  const agent = i.agents.find((a: { hostname: string }) => a.hostname === tasks[0]!.host);
  assert.ok(agent, `binapp runs on a known agent (${tasks[0]?.host})`);
  const kill = await sip(['cluster', 'agent', 'kill', String(agent.n)]);
  assert.is(kill.code, 0, kill.out + kill.err);
  await waitFor(async () => (await post(i.edgelbUrl)) === 201, { what: 'binapp stores a bin from the other agent', timeoutMs: 60_000, intervalMs: 500 });
  const after = JSON.parse((await sip(['marathon', 'task', 'list', '--json'])).out) as Array<{ host: string }>;
  assert.not.equal(after[0]?.host, agent.hostname, 'replaced on the other agent');
});

e2e('no external id, secret key or token of the run in the cluster log or the demo output', async () => {
  const conf = (await run('terraform', ['-chdir=' + join(checkout, 'terraform'), 'output', '-raw', 'secret_aws_conf'])).out;
  const externalId = /external_id\s*=\s*(\S+)/.exec(conf)?.[1];
  assert.ok(externalId, 'the AWS config has an external id');
  assertNoLeaks({ 'cluster.log': clusterLog() }, [{ kind: 'external id', value: externalId! }], { awsShapes: true });
});

e2e('npm run demo -- --down tears it all down', async () => {
  const down = await run('npm', ['run', 'demo', '--', '--down']);
  assert.is(down.code, 0, down.out.slice(-3000));
  assert.match(down.out, 'all torn down');
  assert.not.ok(existsSync(state));
});

e2e.run();
