import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { processAlive } from '@secure-instance-profiles/framework-plugin/local';
import { freePort, waitFor } from '@secure-instance-profiles/framework-plugin/net';
import { runProcess, type Ran } from '../src/fixtures/process.js';

// The local cluster driven only through the `sip` command, as a user would.

const SIP = fileURLToPath(new URL('../../framework-plugin/bin/sip.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const state = mkdtempSync(join(tmpdir(), 'sip-cli-state-'));
// Never EdgeLB's default port: a developer's `npm run demo` may hold it while the suites run.
const lbPort = String(await freePort());
const WEB = JSON.stringify({
  id: '/web',
  cmd: 'echo web started on $PORT0; exec python3 -u -m http.server $PORT0 --bind 127.0.0.1',
  env: { TOKEN: { secret: 't' } },
  secrets: { t: { source: 'web/token' } },
  portDefinitions: [{ port: 0, name: 'http' }],
  healthChecks: [{ protocol: 'MESOS_HTTP', path: '/', intervalSeconds: 1, delaySeconds: 0 }],
});

const sip = (args: string[], input?: string): Promise<Ran> =>
  runProcess(process.execPath, [SIP, ...args], {
    env: { ...process.env, SIP_STATE_DIR: state, SIP_LB_PORT: lbPort },
    ...(input === undefined ? {} : { input }),
  });

const cli = suite('sip cli');

// Whatever happens to this process, the cluster daemon it started goes too.
process.once('exit', () => {
  try {
    const { pid } = JSON.parse(readFileSync(join(state, 'cluster.json'), 'utf8')) as { pid: number };
    process.kill(pid, 'SIGTERM');
  } catch {
    // not running
  }
});

cli.after(async () => {
  await sip(['cluster', 'down']);
  rmSync(state, { recursive: true, force: true });
});

cli('cluster up prints its endpoints; status shows every part healthy', async () => {
  const up = await sip(['cluster', 'up']);
  assert.is(up.code, 0, up.err);
  assert.match(up.out, /marathon\s+http:\/\/127\.0\.0\.1:\d+/);
  const status = await sip(['cluster', 'status']);
  assert.is(status.code, 0, status.out);
  for (const part of ['marathon', 'secrets', 'aws-emulator', 'edgelb', 'instance-metadata']) assert.match(status.out, new RegExp(`${part}\\s+healthy`));
  assert.is(
    (await sip(['cluster', 'up'])).out.split('\n')[0],
    `local cluster already running (pid ${JSON.parse((await sip(['cluster', 'status', '--json'])).out).pid}, state ${state})`,
  );
});

cli('eval "$(sip cluster env)" points the AWS CLI at the emulator as its administrator; --unset undoes it', async () => {
  const unset = await sip(['cluster', 'env', '--unset']);
  assert.match(unset.out, /^unset AWS_ENDPOINT_URL AWS_REGION AWS_DEFAULT_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY$/m);
  const aws = await runProcess('sh', ['-c', 'command -v aws'], {});
  if (aws.code !== 0) return void process.stdout.write('\n  NOT CHECKED (no aws CLI on PATH): the AWS CLI under sip cluster env\n');
  const script = `eval "$(node ${SIP} cluster env)" && aws s3 mb s3://env-probe >/dev/null && echo foobar | aws s3 cp - s3://env-probe/bin/probe && aws s3 cp s3://env-probe/bin/probe - && aws sts get-caller-identity --query Arn --output text`;
  const ran = await runProcess('sh', ['-c', script], {
    env: { ...process.env, SIP_STATE_DIR: state, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_ENDPOINT_URL: '' },
  });
  assert.is(ran.code, 0, ran.err);
  assert.equal(ran.out.trim().split('\n'), ['foobar', 'arn:aws:iam::123456789012:user/sip-admin']);
});

cli('secrets create, then app add from stdin --wait follows the deployment to success', async () => {
  assert.is((await sip(['security', 'secrets', 'create', '/web/token', '-v', 'tok'])).code, 0);
  const add = await sip(['marathon', 'app', 'add', '--wait'], WEB);
  assert.is(add.code, 0, add.err);
  assert.match(add.out, /TASK_RUNNING/);
  assert.match(add.out, /healthy/);
  assert.match(add.out, /deployment \S+ succeeded/);
  const list = JSON.parse((await sip(['marathon', 'app', 'list', '--json'])).out) as Array<{ id: string; tasksHealthy: number }>;
  assert.equal(
    list.map((a) => [a.id, a.tasksHealthy]),
    [['/web', 1]],
  );
});

cli('an app outside the secret’s namespace: exit 6, the reason in the output, no task running', async () => {
  const other = await sip(['marathon', 'app', 'add', '-', '--wait'], WEB.replace('"/web"', '"/other"'));
  assert.is(other.code, 6);
  assert.match(other.out, /TASK_FAILED \(secret "t" \(web\/token\) denied: app \/other is not under the secret's namespace \/web\)/);
  assert.match(other.err, /deployment \S+ failed: secret "t" \(web\/token\) denied/);
  const show = JSON.parse((await sip(['marathon', 'app', 'show', '/other', '--json'])).out) as { tasksRunning: number; lastTaskFailure: { message: string } };
  assert.is(show.tasksRunning, 0);
  assert.match(show.lastTaskFailure.message, 'denied');
});

cli('exit codes: conflict 4, not found 5, invalid 3, usage 2', async () => {
  assert.is((await sip(['marathon', 'app', 'add'], WEB)).code, 4);
  assert.is((await sip(['marathon', 'app', 'show', '/nope'])).code, 5);
  const invalid = await sip(['marathon', 'app', 'add'], '{"id":"/x","cmd":"true","env":{"A":{"secret":"none"}}}');
  assert.is(invalid.code, 3);
  assert.match(invalid.err, '/env/A/secret: references an undefined secret');
  assert.is((await sip(['marathon', 'frob'])).code, 2);
});

cli('task list and task log read the task and its sandbox', async () => {
  const tasks = JSON.parse((await sip(['marathon', 'task', 'list', '/web', '--json'])).out) as Array<{ id: string; state: string }>;
  assert.is(tasks.length, 1);
  assert.is(tasks[0]?.state, 'TASK_RUNNING');
  const log = await sip(['marathon', 'task', 'log', tasks[0]?.id ?? '']);
  assert.is(log.code, 0);
  assert.match(log.out, /^web started on \d+$/m);
  assert.match((await sip(['marathon', 'task', 'log', tasks[0]?.id ?? '', '--stderr'])).out, /"GET \/ HTTP\/1.1" 200/, 'the health probes show in stderr');
  assert.is((await sip(['marathon', 'task', 'log', 'no-such-task'])).code, 5, 'not found: exit 5 (the catalogue)');
});

const get = async (port: number, path = '/'): Promise<number> => (await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) })).status;
let poolPort = 0;
const POOL = (port: number, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    apiVersion: 'V2',
    name: 'web-lb',
    haproxy: {
      frontends: [{ bindPort: port, protocol: 'HTTP', linkBackend: { map: [{ pathBeg: '/', backend: 'web' }] } }],
      backends: [{ name: 'web', protocol: 'HTTP', services: [{ marathon: { serviceID: '/web' }, endpoint: { portName: 'http' } }], ...extra }],
    },
  });

cli('edgelb: a pool created from a file serves /web; its servers show UP in status', async () => {
  assert.is((await sip(['edgelb', 'ping'])).out.trim(), 'pong');
  poolPort = await freePort();
  const file = join(state, 'pool.json');
  writeFileSync(file, POOL(poolPort));
  const created = await sip(['edgelb', 'create', file]);
  assert.is(created.code, 0, created.err);
  assert.is(created.out.trim(), 'created pool web-lb');
  assert.is(await get(poolPort), 200, 'python http.server answers through HAProxy');
  assert.equal(JSON.parse((await sip(['edgelb', 'list', '--json'])).out), ['web-lb']);
  await waitFor(
    async () =>
      /web-lb \(Pool API\)[^]*backend web {2}1 server\(s\)\n {4}web\.\S+ {2}127\.0\.0\.1:\d+ {2}UP/.test((await sip(['edgelb', 'status', 'web-lb'])).out),
    {
      what: 'web-lb server UP',
      timeoutMs: 15_000,
      intervalMs: 300,
    },
  );
  assert.match(
    (await sip(['edgelb', 'lb-config', 'web-lb'])).out,
    new RegExp(`frontend frontend_0\\.0\\.0\\.0_${poolPort}\\n  bind 127\\.0\\.0\\.1:${poolPort}`),
  );
});

cli('edgelb: invalid pools exit 3 with the path of each problem and change nothing; exists 4, not found 5', async () => {
  const before = (await sip(['edgelb', 'show', 'web-lb', '--json'])).out;
  const bad = await sip(['edgelb', 'update', '-'], POOL(poolPort).replace('"bindPort"', '"bindPrt"').replace('"HTTP"', '"HTTPX"'));
  assert.is(bad.code, 3);
  assert.match(bad.err, 'haproxy.frontends[0].bindPrt: is not a field of an Edge-LB V2 pool here');
  assert.match(bad.err, 'haproxy.frontends[0].protocol: must be one of HTTP, HTTPS, TCP, TLS');
  const refused = await sip(['edgelb', 'update', '-'], POOL(poolPort, { miscStrs: ['no-such-haproxy-directive on'] }));
  assert.is(refused.code, 3, refused.err);
  assert.match(refused.err, /pool "web-lb" not applied, HAProxy refused it/);
  const tls = await sip(
    ['edgelb', 'update', '-'],
    POOL(poolPort).replace('"protocol":"HTTP","linkBackend"', '"protocol":"HTTPS","certificates":["$AUTOCERT"],"linkBackend"'),
  );
  assert.is(tls.code, 3);
  assert.match(tls.err, 'haproxy.frontends[0].protocol: HTTPS needs certificates, which the local EdgeLB does not serve');
  assert.is((await sip(['edgelb', 'show', 'web-lb', '--json'])).out, before, 'the pool is unchanged');
  assert.is(await get(poolPort), 200, 'and still serves');
  assert.is((await sip(['edgelb', 'create', '-'], POOL(poolPort))).code, 4);
  assert.is((await sip(['edgelb', 'delete', 'nope'])).code, 5);
  assert.is((await sip(['edgelb', 'status'])).code, 2);
});

cli('edgelb: update re-routes at once (unmatched → 503 from HAProxy)', async () => {
  const updated = await sip(['edgelb', 'update', '-'], POOL(poolPort).replace('"pathBeg":"/"', '"pathBeg":"/only-this"'));
  assert.is(updated.code, 0, updated.err);
  assert.is(await get(poolPort, '/'), 503);
  assert.is(await get(poolPort, '/only-this'), 404, 'routed to python, which has no such file');
});

cli('an app whose TCP frontend port is taken is left out with the reason; the rest keeps serving and status stays healthy', async () => {
  const busy = createServer();
  const port = await freePort();
  await new Promise<void>((r) => busy.listen(port, '127.0.0.1', r));
  const info = JSON.parse(readFileSync(join(state, 'cluster.json'), 'utf8')) as { edgelbApiUrl: string };
  const token = readFileSync(join(state, 'acs-token'), 'utf8').trim();
  const health = async (): Promise<{ current: boolean; appsLeftOut: string[] }> =>
    (await fetch(`${info.edgelbApiUrl}/local/health`, { headers: { authorization: `token=${token}` } })).json() as Promise<{
      current: boolean;
      appsLeftOut: string[];
    }>;
  try {
    const app = JSON.stringify({
      id: '/tcp-clash',
      cmd: 'exec python3 -m http.server $PORT0 --bind 127.0.0.1',
      portDefinitions: [{ port: 0 }],
      labels: { 'edgelb.expose': 'true', 'edgelb.t.frontend.protocol': 'TCP', 'edgelb.t.frontend.port': String(port), 'edgelb.t.backend.protocol': 'TCP' },
    });
    assert.is((await sip(['marathon', 'app', 'add', '-'], app)).code, 0);
    await waitFor(async () => (await health()).appsLeftOut.includes('/tcp-clash'), { what: 'the app left out', timeoutMs: 30_000, intervalMs: 300 });
    const h = await health();
    assert.ok(h.current, 'what is served is current (the clash was left out, not half applied)');
    assert.is(await get(poolPort, '/only-this'), 404, 'the pool served before still serves (routed to /web, which has no such file)');
    const status = await sip(['cluster', 'status']);
    assert.is(status.code, 0, status.out);
    assert.match(status.out, /edgelb config\s+healthy/);
  } finally {
    await sip(['marathon', 'app', 'remove', '/tcp-clash']);
    busy.close();
  }
});

cli('down, then up again: the apps come back', async () => {
  assert.is((await sip(['cluster', 'down'])).code, 0);
  assert.is((await sip(['cluster', 'status'])).code, 1);
  assert.is((await sip(['cluster', 'up'])).code, 0);
  await waitFor(
    async () => {
      const apps = JSON.parse((await sip(['marathon', 'app', 'list', '--json'])).out) as Array<{ id: string; tasksHealthy: number }>;
      return apps.find((a) => a.id === '/web')?.tasksHealthy === 1;
    },
    { what: '/web healthy again', timeoutMs: 30_000, intervalMs: 500 },
  );
  assert.equal(JSON.parse((await sip(['edgelb', 'list', '--json'])).out), ['web-lb'], 'pools are kept across restarts');
  await waitFor(async () => (await get(poolPort, '/only-this').catch(() => 0)) === 404, { what: 'web-lb serving again', timeoutMs: 15_000, intervalMs: 300 });
  const deleted = await sip(['edgelb', 'delete', 'web-lb']);
  assert.is(deleted.code, 0, deleted.err);
  assert.is(await get(poolPort).catch((err: Error) => (err.cause as { code?: string })?.code), 'ECONNREFUSED', 'its frontend no longer listens');
});

cli('kill -9 of the daemon: the next up stops what it left, removes old sandboxes, runs one HAProxy and brings /web back', async () => {
  const info = JSON.parse(readFileSync(join(state, 'cluster.json'), 'utf8')) as { pid: number; edgelbUrl: string };
  const before = (JSON.parse((await sip(['marathon', 'task', 'list', '/web', '--json'])).out) as Array<{ id: string }>)[0]!;
  const recorded = JSON.parse(readFileSync(join(state, 'processes.json'), 'utf8')) as { processes: Array<{ what: string; pid: number }> };
  const pidOf = (what: string): number => recorded.processes.find((p) => p.what === what)?.pid ?? -1;
  const [taskPid, haproxyPid, motoPid] = [pidOf(`task ${before.id}`), pidOf('haproxy'), pidOf('aws emulator')];
  const alive = processAlive;
  process.kill(info.pid, 'SIGKILL');
  await waitFor(async () => !alive(info.pid), { what: 'the daemon gone', timeoutMs: 5000, intervalMs: 50 });
  assert.ok(
    [taskPid, haproxyPid, motoPid].every((p) => p > 0 && alive(p)),
    'the task, HAProxy and the emulator outlived the daemon (what this test is about)',
  );

  const up = await sip(['cluster', 'up']);
  assert.is(up.code, 0, up.err);
  assert.equal([taskPid, haproxyPid, motoPid].filter(alive), [], 'left-over processes still running');
  assert.not.ok(existsSync(join(state, 'sandboxes', before.id)), 'the old sandbox (and its files) is gone');
  await waitFor(
    async () => {
      const apps = JSON.parse((await sip(['marathon', 'app', 'list', '--json'])).out) as Array<{ id: string; tasksHealthy: number; tasksRunning: number }>;
      const web = apps.find((a) => a.id === '/web');
      return web?.tasksHealthy === 1 && web.tasksRunning === 1;
    },
    { what: '/web healthy again, once', timeoutMs: 30_000, intervalMs: 500 },
  );
  const haproxies = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0')[0]?.endsWith('haproxy') && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(state);
      } catch {
        return false;
      }
    });
  assert.ok(haproxies.length >= 1 && haproxies.length <= 2, `HAProxy processes of this cluster: ${haproxies.length} (master and worker)`);
  const master = JSON.parse(readFileSync(join(state, 'processes.json'), 'utf8')) as { processes: Array<{ what: string; pid: number }> };
  assert.is(master.processes.filter((p) => p.what === 'haproxy').length, 1, 'one HAProxy recorded');
});

cli('app update (rolling, 2 instances), restart and remove, each followed with --wait', async () => {
  const update = await sip(['marathon', 'app', 'update', '/web', '-', '--wait'], WEB.replace('"id":"/web",', '"id":"/web","instances":2,'));
  assert.is(update.code, 0, update.err);
  assert.match(update.out, /deployment \S+ succeeded/);
  const shown = JSON.parse((await sip(['marathon', 'app', 'show', '/web', '--json'])).out) as { instances: number; tasksHealthy: number };
  assert.equal([shown.instances, shown.tasksHealthy], [2, 2]);
  const restart = await sip(['marathon', 'app', 'restart', '/web', '--wait']);
  assert.is(restart.code, 0, restart.err);
  assert.match(restart.out, /succeeded/);
  const removed = await sip(['marathon', 'app', 'remove', '/web', '--wait']);
  assert.is(removed.code, 0, removed.err);
  assert.is((await sip(['marathon', 'app', 'show', '/web'])).code, 5);
});

cli('bad state dir and ports in use are clear errors', async () => {
  const file = join(state, 'a-file');
  writeFileSync(file, 'not a directory');
  const bad = await sip(['cluster', 'up', '--state-dir', join(file, 'state')]);
  assert.is(bad.code, 1);
  assert.match(bad.err, /pass --state-dir DIR/);
  const blocker: Server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  const port = (blocker.address() as { port: number }).port;
  const other = mkdtempSync(join(tmpdir(), 'sip-cli-state2-'));
  try {
    const busy = await sip(['cluster', 'up', '--state-dir', other, '--marathon-port', String(port), '--lb-port', String(await freePort())]);
    assert.is(busy.code, 1);
    assert.match(busy.err, new RegExp(`port ${port} for the Marathon API is in use`), busy.err.slice(-1500));
    const lbBusy = await sip(['cluster', 'up', '--state-dir', other, '--lb-port', String(port)]);
    assert.is(lbBusy.code, 1);
    assert.match(lbBusy.err, new RegExp(`haproxy cannot bind 127.0.0.1:${port}: the port is in use`));
  } finally {
    blocker.close();
    rmSync(other, { recursive: true, force: true });
  }
});

cli('npx sip … -v VALUE: a warning on stderr, and the value in no npm log file', async () => {
  const home = mkdtempSync(join(tmpdir(), 'sip-npm-home-'));
  const MARK = `npm-log-probe-${Date.now()}`;
  const ran = await runProcess(
    'npx',
    ['--no-install', 'sip', 'security', 'secrets', 'create', '/probe/value', '-v', MARK, '--store-dir', join(home, 'store')],
    {
      cwd: ROOT,
      env: { ...process.env, HOME: home, npm_config_cache: join(home, '.npm') },
    },
  );
  assert.is(ran.code, 0, ran.err);
  assert.match(ran.err, 'visible in the process list and your shell history');
  const files = (dir: string): string[] =>
    existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)])) : [];
  const holding = files(home).filter((f) => !f.includes('/store/') && readFileSync(f).includes(MARK));
  assert.equal(holding, [], 'files holding the value');
});

cli.run();
