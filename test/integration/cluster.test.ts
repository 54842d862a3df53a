import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '@secure-instance-profiles/framework-plugin/log';
import { processAlive } from '@secure-instance-profiles/framework-plugin/local';
import { waitFor } from '@secure-instance-profiles/framework-plugin/net';
import { createLocalStore } from '@secure-instance-profiles/framework-plugin';
import { demoAuth, viaHost } from '../src/fixtures/http.js';
import { subscribeEvents } from '../src/fixtures/sse.js';
import { startStack, type Stack } from '../src/fixtures/stack.js';
import { startTestCluster, type TestCluster } from '../src/fixtures/testCluster.js';

// The local cluster driven over its Marathon API, with the real binapp, the
// real resolver and the emulator behind it.

const ctx = {} as { stack: Stack; stateDir: string; lbPort: number } & Pick<TestCluster, 'cluster' | 'api' | 'events' | 'edgelb' | 'token'>;
let tc: TestCluster;

const logger = createLogger({ name: 'cluster-test', level: 'error' });

async function startCluster(): Promise<void> {
  tc = await startTestCluster({ stack: ctx.stack, stateDir: ctx.stateDir, logger, ...(ctx.lbPort ? { lbPort: ctx.lbPort } : {}) });
  Object.assign(ctx, { cluster: tc.cluster, api: tc.api, events: tc.events, edgelb: tc.edgelb, lbPort: tc.lbPort, token: tc.token });
}

const api = (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => tc.call(method, path, body);
const app = (id: string): Promise<any> => tc.app(id);
const healthyTask = (id: string, timeoutMs = 30_000): Promise<any> => tc.healthyTask(id, timeoutMs);

const cluster = suite('local cluster');

cluster.before(async () => {
  ctx.stack = await startStack();
  // Its own state dir, not under the stack's private work dir: tasks run as their own users and must reach their sandboxes.
  ctx.stateDir = mkdtempSync(join(tmpdir(), 'sip-cluster-'));
  await startCluster();
  await createLocalStore({ dir: join(ctx.stateDir, 'secrets') }).create('/instance-profile-app/aws-config', ctx.stack.awsConfig);
});

cluster.after(async () => {
  await tc?.stop();
  await ctx.stack?.stop();
});

cluster('binapp from the terraform-rendered marathon/binapp.json becomes healthy with its secret file mounted 0400', async () => {
  const res = await api('POST', '/v2/apps', ctx.stack.marathonAppDefinition);
  assert.is(res.status, 201);
  assert.is(res.json.id, '/instance-profile-app');
  assert.is(res.json.deployments.length, 1);
  const task = await healthyTask('/instance-profile-app');
  const sandbox = join(ctx.stateDir, 'sandboxes', task.id);
  const secretFile = join(sandbox, 'aws-config');
  assert.is(statSync(secretFile).mode & 0o777, 0o400);
  assert.is(readFileSync(secretFile, 'utf8'), ctx.stack.awsConfig);
  assert.match(task.id, /^instance-profile-app\.instance-[0-9a-f-]{36}\._app\.1$/);
  assert.is(task.ports.length, 1);
});

cluster('the task reaches S3 through the emulator with its own role: POST /bin answers a BinID', async () => {
  const task = (await app('/instance-profile-app')).tasks[0];
  const res = await fetch(`http://127.0.0.1:${task.ports[0]}/bin`, { method: 'POST', body: 'through the cluster', headers: { authorization: demoAuth() } });
  assert.is(res.status, 201);
  assert.match(await res.text(), /^BinID /);
});

/** A request to EdgeLB with a Host header. */
const viaLb = (method: string, path: string, host: string, body?: string): Promise<{ status: number; body: string }> =>
  viaHost(ctx.lbPort, method, path, host, body);

cluster('EdgeLB: Host binapp.mesosphere.com reaches the healthy binapp task, an unknown host gets 503', async () => {
  const res = await waitFor(
    async () => {
      const r = await viaLb('POST', '/bin', 'binapp.mesosphere.com', 'through haproxy');
      return r.status === 201 ? r : undefined;
    },
    { what: 'binapp behind HAProxy', timeoutMs: 10_000, intervalMs: 200 },
  );
  assert.match(res.body, /^BinID /);
  assert.is((await viaLb('GET', '/ping', 'unknown.example.com')).status, 503);
  const pool = ctx.edgelb.status().pools[0];
  assert.is(pool?.name, 'auto-default');
  assert.equal(
    pool?.backends.map((b) => [b.name, b.servers.length]),
    [['first', 1]],
  );
});

cluster('EdgeLB: scaling binapp 1 → 3 → 1 under a bounded load loop drops no request, every id readable', async () => {
  const def = JSON.parse(ctx.stack.marathonAppDefinition) as Record<string, unknown>;
  const healthyCount = (n: number) =>
    waitFor(async () => (await app('/instance-profile-app'))?.tasksHealthy === n && (await app('/instance-profile-app')).tasks.length === n, {
      what: `${n} healthy binapp tasks`,
      timeoutMs: 60_000,
      intervalMs: 250,
    });
  const ids: string[] = [];
  const failures: string[] = [];
  let running = true;
  const deadline = Date.now() + 150_000; // the loop is bounded in time and count
  const worker = async (): Promise<void> => {
    while (running && Date.now() < deadline && ids.length + failures.length < 5000) {
      const r = await viaLb('POST', '/bin', 'binapp.mesosphere.com', `payload ${ids.length}`).catch((e: Error) => ({ status: 0, body: e.message }));
      const id = /^BinID (\S+)$/m.exec(r.body)?.[1];
      if (r.status === 201 && id) ids.push(id);
      else failures.push(`${new Date().toISOString()} ${r.status} ${r.body.slice(0, 40)}`);
    }
  };
  const load = Promise.all([worker(), worker(), worker()]);
  assert.is((await api('PUT', '/v2/apps/instance-profile-app', { ...def, instances: 3 })).status, 200);
  await healthyCount(3);
  await waitFor(async () => ctx.edgelb.status().pools[0]?.backends[0]?.servers.length === 3, { what: 'three servers in the backend', timeoutMs: 5000 });
  assert.is((await api('PUT', '/v2/apps/instance-profile-app', { ...def, instances: 1 })).status, 200);
  await healthyCount(1);
  await new Promise((r) => setTimeout(r, 1000));
  running = false;
  await load;
  assert.ok(ids.length > 50, `only ${ids.length} requests made it`);
  assert.equal(failures, [], `${failures.length} of ${ids.length + failures.length} requests failed`);
  for (const id of ids.filter((_, i) => i % Math.ceil(ids.length / 40) === 0)) {
    assert.is((await viaLb('GET', `/bin/${id}`, 'binapp.mesosphere.com')).status, 200, `bin ${id} not readable`);
  }
});

cluster('the deployment’s events arrive in order on /v2/events', async () => {
  const deploymentInfo = ctx.events.events.findIndex((e) => e.eventType === 'deployment_info' && JSON.stringify(e).includes('/instance-profile-app'));
  const running = ctx.events.events.findIndex(
    (e) => e.eventType === 'status_update_event' && e.taskStatus === 'TASK_RUNNING' && e.appId === '/instance-profile-app',
  );
  const healthy = ctx.events.events.findIndex((e) => e.eventType === 'health_status_changed_event' && e.alive === true);
  const success = ctx.events.events.findIndex((e) => e.eventType === 'deployment_success');
  assert.is(ctx.events.events[0]?.eventType, 'event_stream_attached');
  assert.ok(
    deploymentInfo > 0 && deploymentInfo < running && running < healthy && healthy < success,
    `order: ${deploymentInfo} ${running} ${healthy} ${success}`,
  );
  assert.ok(ctx.events.events.some((e) => e.eventType === 'api_post_event'));
});

cluster('/other-app referencing the same secret never starts and says why', async () => {
  const def = { ...JSON.parse(ctx.stack.marathonAppDefinition), id: '/other-app' };
  const res = await api('POST', '/v2/apps', def);
  assert.is(res.status, 201);
  const failed = await ctx.events.waitFor((e) => e.eventType === 'deployment_failed' && JSON.stringify(e).includes('/other-app'), 10_000, 'deployment_failed');
  const reason = "app /other-app is not under the secret's namespace /instance-profile-app";
  assert.match(String(failed.reason), reason);
  const other = await app('/other-app');
  assert.is(other.tasksRunning, 0);
  assert.is(other.lastTaskFailure.state, 'TASK_FAILED');
  assert.match(other.lastTaskFailure.message, reason);
  const status = ctx.events.events.find((e) => e.eventType === 'status_update_event' && e.appId === '/other-app' && e.taskStatus === 'TASK_FAILED');
  assert.ok(status, 'a TASK_FAILED status update was published');
  assert.not.ok(existsSync(join(ctx.stateDir, 'sandboxes', String(status?.taskId), 'stdout')), 'no process was spawned');
  // Watch for longer than the app's backoff (1 s × 1.15): an app that is not blocked would be relaunched in this window.
  const backoffMs = Number(def.backoffSeconds ?? 1) * 1000;
  await new Promise((r) => setTimeout(r, backoffMs * 3));
  const launches = ctx.events.events.filter((e) => e.eventType === 'status_update_event' && e.appId === '/other-app' && e.taskStatus === 'TASK_STAGING');
  assert.is(launches.length, 1, 'launched once, never retried');
  assert.is((await app('/other-app')).tasksRunning, 0);
  assert.is((await api('DELETE', '/v2/apps/other-app')).status, 200);
});

cluster('a killed task process is replaced by a new task', async () => {
  const before = (await app('/instance-profile-app')).tasks[0];
  const pid = findPid(before.id);
  process.kill(-pid, 'SIGKILL');
  await ctx.events.waitFor(
    (e) => e.eventType === 'status_update_event' && e.taskId === before.id && e.taskStatus === 'TASK_FAILED',
    10_000,
    'TASK_FAILED of the killed task',
  );
  const after = await healthyTask('/instance-profile-app');
  assert.is.not(after.id, before.id);
  assert.not.ok(existsSync(join(ctx.stateDir, 'sandboxes', before.id, 'aws-config')), 'the dead task’s secret file was removed');
  assert.match((await app('/instance-profile-app')).lastTaskFailure.message, 'killed by SIGKILL');
});

cluster('a task whose health check keeps failing is killed and replaced', async () => {
  const def = {
    id: '/flaky',
    cmd: 'exec python3 -m http.server $PORT0 --bind 127.0.0.1',
    portDefinitions: [{ port: 0, name: 'http' }],
    healthChecks: [
      {
        protocol: 'MESOS_HTTP',
        path: '/healthy-marker',
        gracePeriodSeconds: 0,
        intervalSeconds: 1,
        timeoutSeconds: 1,
        maxConsecutiveFailures: 2,
        delaySeconds: 0,
      },
    ],
    backoffSeconds: 1,
  };
  assert.is((await api('POST', '/v2/apps', def)).status, 201);
  const killed = await ctx.events.waitFor((e) => e.eventType === 'unhealthy_task_kill_event' && e.appId === '/flaky', 15_000, 'unhealthy_task_kill_event');
  await ctx.events.waitFor(
    (e) => e.eventType === 'status_update_event' && e.appId === '/flaky' && e.taskStatus === 'TASK_RUNNING' && e.taskId !== killed.taskId,
    15_000,
    'a replacement task',
  );
  assert.is((await api('DELETE', '/v2/apps/flaky')).status, 200);
});

cluster('a task gets the Mesos/Marathon environment and ports from a range, named', async () => {
  const def = {
    id: '/envprobe',
    cmd: 'env > .seen-env && mv .seen-env seen-env; exec sleep 30',
    portDefinitions: [
      { port: 0, name: 'http' },
      { port: 0, name: 'admin-api' },
    ],
    labels: { team: 'blue' },
    env: { PLAIN: 'value' },
  };
  assert.is((await api('POST', '/v2/apps', def)).status, 201);
  const task = await waitFor(
    async () => {
      const t = (await app('/envprobe'))?.tasks?.[0];
      return t?.state === 'TASK_RUNNING' ? t : undefined;
    },
    { what: 'envprobe running', timeoutMs: 10_000 },
  );
  const file = join(ctx.stateDir, 'sandboxes', task.id, 'seen-env');
  await waitFor(async () => existsSync(file), { what: 'env written', timeoutMs: 5000 });
  const env = Object.fromEntries(
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const [p0, p1] = task.ports as number[];
  assert.ok(p0 !== undefined && p0 >= 31000 && p0 <= 32000 && p1 !== p0);
  assert.equal(
    {
      MESOS_SANDBOX: env.MESOS_SANDBOX,
      MARATHON_APP_ID: env.MARATHON_APP_ID,
      MESOS_TASK_ID: env.MESOS_TASK_ID,
      HOST: env.HOST,
      PORT0: env.PORT0,
      PORT1: env.PORT1,
      PORT: env.PORT,
      PORTS: env.PORTS,
      PORT_HTTP: env.PORT_HTTP,
      PORT_ADMIN_API: env.PORT_ADMIN_API,
      PLAIN: env.PLAIN,
      MARATHON_APP_LABEL_TEAM: env.MARATHON_APP_LABEL_TEAM,
    },
    {
      MESOS_SANDBOX: join(ctx.stateDir, 'sandboxes', task.id),
      MARATHON_APP_ID: '/envprobe',
      MESOS_TASK_ID: task.id,
      HOST: '127.0.0.1',
      PORT0: String(p0),
      PORT1: String(p1),
      PORT: String(p0),
      PORTS: `${p0},${p1}`,
      PORT_HTTP: String(p0),
      PORT_ADMIN_API: String(p1),
      PLAIN: 'value',
      MARATHON_APP_LABEL_TEAM: 'blue',
    },
  );
  await api('DELETE', '/v2/apps/envprobe');
});

cluster('/ping, /v2/info, /v2/deployments, and ?event_type= filtering', async () => {
  const ping = await fetch(`${ctx.api.url}/ping`);
  assert.is(await ping.text(), 'pong');
  const info = (await api('GET', '/v2/info')).json;
  assert.is(info.name, 'marathon');
  // The cluster's own configuration, not a copy of Marathon's defaults.
  assert.is(info.frameworkId, 'sip-local-framework');
  assert.is(info.marathon_config.local_port_min, 10000);
  assert.is(info.marathon_config.master, `local agent ${ctx.cluster.configuration().agentId}`);
  assert.is(info.marathon_config.task_launch_timeout, null, 'a setting the local cluster does not have is null');
  assert.is(info.zookeeper_config.state_dir, ctx.stateDir);
  const filtered = await subscribeEvents(`${ctx.api.url}/v2/events?event_type=deployment_info`, { authorization: `token=${ctx.token}` });
  const added = await api('POST', '/v2/apps', { id: '/briefly', cmd: 'exec sleep 30' });
  const deployments = (await api('GET', '/v2/deployments')).json as Array<{ id: string; affectedApps: string[] }>;
  assert.ok(deployments.some((d) => d.id === added.json.deployments[0].id && d.affectedApps[0] === '/briefly'));
  await filtered.waitFor((e) => e.eventType === 'deployment_info', 5000, 'deployment_info');
  await api('DELETE', '/v2/apps/briefly');
  // The delete's own deployment_info arrives after every event published in between (status updates, health): none of those came through.
  await filtered.waitFor((e) => e.eventType === 'deployment_info' && JSON.stringify(e).includes('StopApplication'), 5000, 'the delete’s deployment_info');
  filtered.close();
  assert.equal([...new Set(filtered.events.map((e) => e.eventType))], ['event_stream_attached', 'deployment_info']);
  assert.is((await fetch(`${ctx.api.url}/v2/events`, { headers: { authorization: `token=${ctx.token}` } })).status, 405);
});

cluster('the Marathon API asks for the ACS token on every route but /ping; without it nothing is read or changed', async () => {
  const anon = (method: string, path: string, body?: unknown, authorization?: string) =>
    fetch(`${ctx.api.url}${path}`, { method, headers: authorization ? { authorization } : {}, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  for (const [method, path] of [
    ['GET', '/v2/apps'],
    ['GET', '/v2/apps/instance-profile-app'],
    ['GET', '/v2/tasks'],
    ['GET', '/v2/deployments'],
    ['GET', '/v2/info'],
    ['DELETE', '/v2/apps/instance-profile-app'],
    ['GET', '/v2/events'],
  ] as const) {
    for (const auth of [undefined, 'token=wrong', `Bearer ${ctx.token}`]) {
      const res = await anon(method, path, undefined, auth);
      assert.is(res.status, 401, `${method} ${path} with ${auth ? 'a wrong header' : 'no header'}`);
      assert.is(res.headers.get('www-authenticate'), 'acsjwt');
    }
  }
  assert.is((await anon('POST', '/v2/apps', { id: '/intruder', cmd: 'exec sleep 30' })).status, 401);
  assert.is((await api('GET', '/v2/apps/intruder')).status, 404, 'nothing was created');
  assert.is((await api('GET', '/v2/apps/instance-profile-app')).status, 200, 'the app is still there');
  assert.is((await fetch(`${ctx.api.url}/ping`)).status, 200, '/ping stays open');
});

cluster('scaling instances up and down through PUT', async () => {
  const def = { id: '/scaled', cmd: 'exec python3 -m http.server $PORT0 --bind 127.0.0.1', portDefinitions: [{ port: 0 }], instances: 1 };
  assert.is((await api('POST', '/v2/apps', def)).status, 201);
  const running = (n: number) =>
    waitFor(async () => (await app('/scaled'))?.tasksRunning === n && (await app('/scaled')).tasks.length === n, {
      what: `${n} running`,
      timeoutMs: 20_000,
      intervalMs: 200,
    });
  await running(1);
  const up = await api('PUT', '/v2/apps/scaled', { ...def, instances: 3 });
  assert.is(up.status, 200);
  assert.ok(up.json.deploymentId);
  await running(3);
  const ports = new Set((await app('/scaled')).tasks.map((t: { ports: number[] }) => t.ports[0]));
  assert.is(ports.size, 3, 'each task got its own port');
  await api('PUT', '/v2/apps/scaled', { ...def, instances: 1 });
  await running(1);
  await api('DELETE', '/v2/apps/scaled');
});

cluster('a task that ignores SIGTERM is SIGKILLed after its grace period', async () => {
  const def = { id: '/stubborn', cmd: "trap '' TERM; while true; do sleep 0.2; done", taskKillGracePeriodSeconds: 1 };
  assert.is((await api('POST', '/v2/apps', def)).status, 201);
  await waitFor(async () => (await app('/stubborn'))?.tasksRunning === 1, { what: 'stubborn running', timeoutMs: 10_000 });
  const task = (await app('/stubborn')).tasks[0];
  const pid = findPid(task.id);
  const started = Date.now();
  const removed = await api('DELETE', '/v2/apps/stubborn');
  await ctx.events.waitFor((e) => e.eventType === 'deployment_success' && e.id === removed.json.deploymentId, 10_000, 'stop deployment');
  const took = Date.now() - started;
  assert.ok(took >= 900, `killed after ${took} ms, before the grace period`);
  assert.not.ok(processAlive(pid));
});

cluster('DELETE leaves no process and no secret file', async () => {
  const task = (await app('/instance-profile-app')).tasks[0];
  const pid = findPid(task.id);
  const removed = await api('DELETE', '/v2/apps/instance-profile-app');
  assert.is(removed.status, 200);
  assert.is((await api('GET', '/v2/apps/instance-profile-app')).status, 404);
  await ctx.events.waitFor((e) => e.eventType === 'deployment_success' && e.id === removed.json.deploymentId, 15_000, 'the stop deployment');
  const killed = ctx.events.events.find((e) => e.eventType === 'status_update_event' && e.taskId === task.id && e.taskStatus === 'TASK_KILLED');
  assert.ok(killed, 'TASK_KILLED was published');
  assert.not.ok(processAlive(pid), 'the task process is still alive');
  assert.not.ok(existsSync(join(ctx.stateDir, 'sandboxes', task.id, 'aws-config')), 'the secret file is still there');
  assert.is((await api('DELETE', '/v2/apps/instance-profile-app')).status, 404);
});

cluster('the cluster restarts with its apps', async () => {
  assert.is((await api('POST', '/v2/apps', ctx.stack.marathonAppDefinition)).status, 201);
  await healthyTask('/instance-profile-app');
  await tc.stop();
  await startCluster();
  const task = await healthyTask('/instance-profile-app');
  assert.ok(task.id);
  assert.equal(
    (await api('GET', '/v2/apps')).json.apps.map((a: { id: string }) => a.id),
    ['/instance-profile-app'],
  );
});

cluster('Marathon error shapes: 422 with paths, 409 on an existing id, 404 unknown', async () => {
  const bad = await api('POST', '/v2/apps', { id: '/bad', cmd: 'x', env: { A: { secret: 'nope' } } });
  assert.is(bad.status, 422);
  assert.equal(bad.json, { message: 'Object is not valid', details: [{ path: '/env/A/secret', errors: ['references an undefined secret'] }] });
  const dup = await api('POST', '/v2/apps', ctx.stack.marathonAppDefinition);
  assert.is(dup.status, 409);
  assert.is(dup.json.message, 'An app with id [/instance-profile-app] already exists.');
  assert.equal((await api('GET', '/v2/apps/nope')).json, { message: "App '/nope' does not exist" });
  assert.is((await api('POST', '/v2/apps', '{"id":')).status, 400);
});

cluster('no external id in the API’s app view, the events, or the task list', async () => {
  const views = [
    JSON.stringify((await api('GET', '/v2/apps/instance-profile-app')).json),
    JSON.stringify((await api('GET', '/v2/apps?embed=apps.tasks')).json),
    ctx.events.raw(),
  ];
  for (const v of views) assert.ok(!v.includes(ctx.stack.externalId), 'an external id leaked');
});

/** The process group of a task, found through /proc by its MESOS_TASK_ID. */
function findPid(taskId: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (!environ.includes(`MESOS_TASK_ID=${taskId}\0`)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]); // pgrp
    } catch {
      // process gone or not ours
    }
  }
  throw new Error(`no process for ${taskId}`);
}

cluster.run();
