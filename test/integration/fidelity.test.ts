import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type AjvDraft04 from 'ajv-draft-04';
import type AddFormats from 'ajv-formats';
import { EventSource } from 'eventsource';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, waitFor } from '@secure-instance-profiles/framework-plugin/net';
import { runProcess, type Ran } from '../src/fixtures/process.js';

// Marathon fidelity: the local cluster driven by a published Marathon client
// (marathon-node from npm), an EventSource client and `jq` over `sip`, as a
// DC/OS user's tools would drive it. Responses are checked against Marathon's
// own JSON Schema and examples (framework-plugin/test/reference, Apache-2.0),
// and the events of the run against Marathon's order.

const require = createRequire(import.meta.url);
// marathon-node is CommonJS: `Marathon(baseUrl, requestOptions)`.
// ajv-draft-04 and ajv-formats are CommonJS with a `default` export.
const Ajv = (require('ajv-draft-04') as { default: typeof AjvDraft04.default }).default;
const addFormats = (require('ajv-formats') as { default: typeof AddFormats.default }).default;
const Marathon = require('marathon-node') as (url: string, opts: Record<string, unknown>) => MarathonNode;
interface MarathonNode {
  apps: {
    getList(q?: Record<string, unknown>): Promise<{ apps: App[] }>;
    create(body: unknown): Promise<App & { deployments: Array<{ id: string }> }>;
    getOne(id: string, q?: Record<string, unknown>): Promise<{ app: App }>;
    update(id: string, body: unknown, force?: boolean): Promise<DeploymentResult>;
    destroy(id: string, force?: boolean): Promise<DeploymentResult>;
    restart(id: string, force?: boolean): Promise<DeploymentResult>;
    getTasks(id: string): Promise<{ tasks: Task[] }>;
    killTask(id: string, taskId: string, scale?: boolean): Promise<DeploymentResult & { task?: Task }>;
    getVersions(id: string): Promise<{ versions: string[] }>;
    getVersion(id: string, version: string): Promise<App>;
  };
  groups: { getList(): Promise<Group>; getOne(id: string): Promise<Group> };
  deployments: { getList(): Promise<Array<Record<string, unknown>>> };
  tasks: { getList(): Promise<{ tasks: Task[] }> };
  queue: { get(): Promise<{ queue: unknown[] }> };
  info: { get(): Promise<Record<string, unknown>> };
}
type App = Record<string, any> & { id: string; instances: number; tasksHealthy: number; tasks?: Task[]; version: string };
type Task = Record<string, any> & { id: string; state: string; version: string };
type Group = { id: string; apps: App[]; groups: Group[] } & Record<string, unknown>;
type DeploymentResult = { deploymentId: string; version: string };

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REF = join(ROOT, 'framework-plugin/test/reference/marathon/api/v2');
const SIP = join(ROOT, 'framework-plugin/bin/sip.mjs');
const state = mkdtempSync(join(tmpdir(), 'sip-fidelity-'));
// Never EdgeLB's default port: a developer's `npm run demo` may hold it while the suites run.
const lbPort = String(await freePort());
const ID = '/fidelity/web';
const WEB = {
  id: ID,
  cmd: 'exec python3 -u -m http.server $PORT0 --bind 127.0.0.1',
  cpus: 0.1,
  mem: 32,
  instances: 1,
  healthChecks: [{ protocol: 'MESOS_HTTP', path: '/', portIndex: 0, intervalSeconds: 1, delaySeconds: 0, gracePeriodSeconds: 30 }],
  labels: { tier: 'web', team: 'fidelity' },
};

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const SCHEMA_BASE = 'https://raw.githubusercontent.com/mesosphere/marathon/master/docs/docs/rest-api/public/api/v2/schema/';
const schema = (name: string): Record<string, unknown> => {
  const s = JSON.parse(readFileSync(join(REF, 'schema', name), 'utf8')) as Record<string, unknown>;
  delete s.$schema; // "http://json-schema.org/schema#": draft-04, which ajv-draft-04 is
  return { ...s, id: `${SCHEMA_BASE}${name}` }; // Group.json refers to ./AppDefinition.json beside it
};
ajv.addSchema(schema('AppDefinition.json'));
const validateApp = ajv.getSchema(`${SCHEMA_BASE}AppDefinition.json`)!;
const validateGroup = ajv.compile(schema('Group.json'));
/** Fields Marathon shows beside the definition (counts, tasks, deployments): not part of AppDefinition. */
const STATE = ['tasksStaged', 'tasksRunning', 'tasksHealthy', 'tasksUnhealthy', 'deployments', 'lastTaskFailure', 'tasks'];
/** Fields 1.8+ added after the legacy schema (the RAML has them). */
const NEWER = { app: [] as string[], group: ['pods', 'enforceRole'] };
function assertApp(app: Record<string, unknown>, what: string): void {
  const def = Object.fromEntries(Object.entries(app).filter(([k]) => !STATE.includes(k) && !NEWER.app.includes(k)));
  assert.ok(validateApp(def), `${what}: ${ajv.errorsText(validateApp.errors)}`);
}
function assertGroup(g: Group, what: string): void {
  const strip = (x: Group): Record<string, unknown> => ({
    ...Object.fromEntries(Object.entries(x).filter(([k]) => !NEWER.group.includes(k))),
    apps: x.apps.map((a) => Object.fromEntries(Object.entries(a).filter(([k]) => !STATE.includes(k)))),
    groups: x.groups.map(strip),
  });
  assert.ok(validateGroup(strip(g)), `${what}: ${ajv.errorsText(validateGroup.errors)}`);
}
/** Every key the reference example has, ours has too (values may differ). */
function assertShape(ours: Record<string, unknown>, example: Record<string, unknown>, what: string, optional: string[] = []): void {
  const missing = Object.keys(example).filter((k) => !(k in ours) && !optional.includes(k));
  assert.equal(missing, [], `${what} lacks fields the reference has`);
}
const example = (name: string): any => JSON.parse(readFileSync(join(REF, 'examples', name), 'utf8'));

const sip = (args: string[]): Promise<Ran> =>
  runProcess(process.execPath, [SIP, ...args], { env: { ...process.env, SIP_STATE_DIR: state, SIP_LB_PORT: lbPort } });
const sh = (line: string): Promise<Ran> =>
  runProcess('bash', ['-c', `sip() { "${process.execPath}" "${SIP}" "$@"; }\n${line}`], { env: { ...process.env, SIP_STATE_DIR: state, SIP_LB_PORT: lbPort } });

let marathon: MarathonNode;
let url = '';
let token = '';
const seen: Array<{ type: string; data: Record<string, any> }> = [];
const filtered: string[] = [];
const streams: EventSource[] = [];
const TYPES = [
  'event_stream_attached',
  'api_post_event',
  'group_change_success',
  'deployment_info',
  'deployment_step_success',
  'deployment_step_failure',
  'deployment_success',
  'deployment_failed',
  'status_update_event',
  'instance_changed_event',
  'instance_health_changed_event',
  'health_status_changed_event',
  'app_terminated_event',
  'unhealthy_task_kill_event',
];

function openStream(query: string, onEvent: (type: string, data: Record<string, any>) => void): Promise<void> {
  const es = new EventSource(`${url}/v2/events${query}`, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), Authorization: `token=${token}` } }),
  });
  streams.push(es);
  for (const t of TYPES) es.addEventListener(t, (e) => onEvent(t, JSON.parse((e as MessageEvent<string>).data) as Record<string, any>));
  return new Promise((resolve, reject) => {
    es.addEventListener('event_stream_attached', () => resolve());
    es.onerror = (e) => reject(new Error(`event stream: ${String((e as { message?: string }).message)}`));
  });
}

const app = async (): Promise<App> => (await marathon.apps.getOne(ID)).app;
const settle = async (what: string, ok: (a: App) => boolean): Promise<App> => {
  let last: App | undefined;
  await waitFor(async () => ok((last = await app())) && (last.deployments as unknown[]).length === 0, { what, timeoutMs: 60_000, intervalMs: 200 });
  return last!;
};
const healthy =
  (n: number) =>
  (a: App): boolean =>
    a.instances === n && a.tasksHealthy === n && (a.tasks ?? []).length === n;
const eventsOf = (deploymentId: string): string[] => {
  // From the api_post_event (or group change) that started it to its deployment_success.
  const end = seen.findIndex((e) => e.type === 'deployment_success' && e.data.id === deploymentId);
  const info = seen.findIndex((e) => e.type === 'deployment_info' && e.data.plan?.id === deploymentId);
  assert.ok(info >= 0 && end > info, `deployment ${deploymentId} has its info and success events`);
  let start = info;
  while (start > 0 && ['group_change_success', 'api_post_event'].includes(seen[start - 1]!.type)) start--;
  return seen
    .slice(start, end + 1)
    .filter((e) => !e.data.appId || e.data.appId === ID)
    .filter((e) => !e.data.runSpecId || e.data.runSpecId === ID)
    .map((e) => e.type);
};
/** `expected` appears in `actual` in this order (other events may come between). */
const inOrder = (actual: string[], expected: string[], what: string): void => {
  let i = 0;
  for (const t of actual) if (t === expected[i]) i++;
  assert.is(i, expected.length, `${what}: expected ${expected.join(' → ')} in order, got ${actual.join(' → ')}`);
};

const fidelity = suite('Marathon fidelity (marathon-node, EventSource, jq)');

fidelity.before(async () => {
  const up = await sip(['cluster', 'up']);
  assert.is(up.code, 0, up.err);
  const info = JSON.parse(readFileSync(join(state, 'cluster.json'), 'utf8')) as { marathonUrl: string };
  url = info.marathonUrl;
  token = readFileSync(join(state, 'acs-token'), 'utf8').trim();
  marathon = Marathon(url, { headers: { Authorization: `token=${token}` } });
  await openStream('', (type, data) => seen.push({ type, data }));
  await openStream('?event_type=deployment_success&event_type=app_terminated_event', (type) => filtered.push(type));
});

fidelity.after(async () => {
  streams.forEach((s) => s.close());
  await sip(['cluster', 'down']);
  rmSync(state, { recursive: true, force: true });
});

fidelity(
  'create → scale (partial PUT) → kill with scale → sip app update instances=3 → restart → versions → groups → delete, each response as the reference',
  async () => {
    // Create.
    const created = await marathon.apps.create(WEB);
    assertApp(created, 'POST /v2/apps');
    assert.equal(created.portDefinitions, [{ port: 10000, protocol: 'tcp', name: 'default' }], 'the default port definition with a service port');
    const v1 = await settle('one healthy task', healthy(1));
    assertApp(v1, 'GET /v2/apps/{id}');
    const [first] = v1.tasks!;
    assertShape(first!, example('app_tasks.json').tasks[0], 'a task', ['region', 'zone']);
    assert.equal(first!.servicePorts, [10000]);
    assert.equal(first!.ipAddresses, [{ ipAddress: '127.0.0.1', protocol: 'IPv4' }]);
    inOrder(
      eventsOf(created.deployments[0]!.id),
      [
        'api_post_event',
        'group_change_success',
        'deployment_info',
        'status_update_event',
        'instance_changed_event',
        'instance_health_changed_event',
        'deployment_step_success',
        'deployment_success',
      ],
      'deploy',
    );

    // Scale with a partial PUT ({"instances": 3} alone, as every client sends it): the first task stays.
    const scaled = await marathon.apps.update(ID, { instances: 3 });
    assertShape(scaled, example('deployments_result.json'), 'PUT result');
    const v2 = await settle('three healthy tasks', healthy(3));
    assert.ok(
      v2.tasks!.some((t) => t.id === first!.id),
      'scaling kept the running task',
    );
    assert.is(v2.cmd, WEB.cmd, 'what the PUT did not give stays');
    assert.is(v2.versionInfo.lastConfigChangeAt, v1.versionInfo.lastConfigChangeAt, 'a scale is not a config change');
    assert.ok(v2.version > v1.version, 'but a new version');
    inOrder(
      eventsOf(scaled.deploymentId),
      ['api_post_event', 'group_change_success', 'deployment_info', 'instance_changed_event', 'deployment_step_success', 'deployment_success'],
      'scale',
    );

    // Kill one task with scale=true: that task goes, instances drops to 2, nothing replaces it.
    const victim = v2.tasks!.find((t) => t.id !== first!.id)!;
    const killed = await marathon.apps.killTask(ID, victim.id, true);
    assertShape(killed, example('deployments_result.json'), 'DELETE /tasks/{id}?scale=true result');
    const v3 = await settle('two healthy tasks', healthy(2));
    assert.not.ok(
      v3.tasks!.some((t) => t.id === victim.id),
      'the killed task is gone',
    );
    const killEvents = eventsOf(killed.deploymentId);
    inOrder(killEvents, ['group_change_success', 'deployment_info', 'deployment_step_success', 'deployment_success'], 'kill with scale');
    assert.ok(
      seen.some((e) => e.type === 'instance_changed_event' && e.data.condition === 'Killed' && victim.id.startsWith(e.data.instanceId)),
      'instance_changed_event Killed for the victim',
    );

    // dcos's property form through sip.
    const cliScale = await sip(['marathon', 'app', 'update', ID, 'instances=3', '--wait']);
    assert.is(cliScale.code, 0, cliScale.out + cliScale.err);
    assert.match(cliScale.out, /^Created deployment [\w-]+$/m);
    await settle('three healthy tasks again', healthy(3));

    // Restart: every task replaced by one of a new config version.
    const before = new Set((await app()).tasks!.map((t) => t.id));
    const restarted = await marathon.apps.restart(ID);
    const v4 = await settle('three new healthy tasks', (a) => healthy(3)(a) && a.tasks!.every((t) => !before.has(t.id)));
    assert.ok(v4.versionInfo.lastConfigChangeAt > v3.versionInfo.lastConfigChangeAt);
    inOrder(
      eventsOf(restarted.deploymentId),
      [
        'api_post_event',
        'group_change_success',
        'deployment_info',
        'instance_changed_event',
        'instance_health_changed_event',
        'deployment_step_success',
        'deployment_success',
      ],
      'restart',
    );

    // Versions: newest first, each readable, the first one as created.
    const { versions } = await marathon.apps.getVersions(ID);
    assert.is(versions.length, 5, versions.join(', '));
    assert.equal([...versions].sort().reverse(), versions, 'newest first');
    assert.is(versions[0], v4.version);
    const original = await marathon.apps.getVersion(ID, versions.at(-1)!);
    assertApp(original, 'GET /versions/{version}');
    assert.is(original.instances, 1);
    assert.is(original.version, versions.at(-1));

    // Groups: the app under /fidelity, the tree from the root.
    const group = await marathon.groups.getOne('fidelity');
    assertGroup(group, 'GET /v2/groups/fidelity');
    assert.equal(
      group.apps.map((a) => a.id),
      [ID],
    );
    const root = await marathon.groups.getList();
    assertGroup(root, 'GET /v2/groups');
    assert.equal(
      root.groups.map((g) => g.id),
      ['/fidelity'],
    );

    // Filters: id, label selector.
    assert.equal(
      (await marathon.apps.getList({ id: 'fidel' })).apps.map((a) => a.id),
      [ID],
    );
    assert.equal(
      (await marathon.apps.getList({ label: 'tier==web,team' })).apps.map((a) => a.id),
      [ID],
    );
    assert.equal((await marathon.apps.getList({ label: 'tier!=web' })).apps, []);

    // Delete: the app is terminated, then its deployment succeeds.
    const removed = await marathon.apps.destroy(ID);
    await waitFor(async () => seen.some((e) => e.type === 'deployment_success' && e.data.id === removed.deploymentId), {
      what: 'the removal done',
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    inOrder(
      eventsOf(removed.deploymentId),
      ['api_post_event', 'group_change_success', 'deployment_info', 'status_update_event', 'deployment_step_success', 'deployment_success'],
      'delete',
    );
    assert.ok(
      seen.some((e) => e.type === 'app_terminated_event' && e.data.appId === ID),
      'app_terminated_event',
    );
    const gone = await marathon.apps.getOne(ID).then(
      () => 0,
      (err: { statusCode?: number }) => err.statusCode,
    );
    assert.is(gone, 404);

    // The filtered stream got exactly what it asked for.
    assert.ok(filtered.length > 0);
    assert.equal([...new Set(filtered)].sort(), ['app_terminated_event', 'deployment_success', 'event_stream_attached']);
  },
);

fidelity('info, deployments, queue and tasks have the reference shapes; an unserved URI says so', async () => {
  const info = await marathon.info.get();
  assertShape(info, example('info.json'), '/v2/info');
  assertShape(info.marathon_config as Record<string, unknown>, example('info.json').marathon_config, '/v2/info marathon_config');
  const blocked = { ...WEB, id: '/fidelity/waits', instances: 2, cpus: 10_000 };
  const added = await marathon.apps.create(blocked);
  try {
    let queue: any[] = [];
    await waitFor(async () => (queue = (await marathon.queue.get()).queue).length > 0, { what: 'the app queued', timeoutMs: 10_000, intervalMs: 100 });
    assertShape(queue[0], example('queue.json').queue[0], '/v2/queue item');
    assert.is(queue[0].count, 2);
    assert.match(queue[0].lastUnusedOfferReason, 'no room');
    const deployments = await marathon.deployments.getList();
    assert.ok(deployments.length > 0);
    assertShape(deployments[0]!, example('deployments.json')[0], '/v2/deployments item');
    // A rollback of the deployment that created the app removes it.
    const rollback = await sh(`sip marathon deployment rollback ${added.deployments[0]!.id}`);
    assert.is(rollback.code, 0, rollback.err);
    await waitFor(async () => (await marathon.apps.getList()).apps.every((a) => a.id !== blocked.id), {
      what: 'the rolled-back app gone',
      timeoutMs: 10_000,
      intervalMs: 100,
    });
  } finally {
    await marathon.apps.destroy(blocked.id).catch(() => undefined);
  }
  const unserved = await fetch(`${url}/v2/pods`, { headers: { Authorization: `token=${token}` } });
  assert.is(unserved.status, 404);
  assert.match(((await unserved.json()) as { message: string }).message, 'not supported');
  const noTask = await fetch(`${url}/v2/apps/fidelity/nothing/tasks/x`, { method: 'DELETE', headers: { Authorization: `token=${token}` } });
  assert.is(noTask.status, 404);
  assert.match(((await noTask.json()) as { message: string }).message, "App '/fidelity/nothing' does not exist");
});

fidelity('jq over sip: the walk-through loop ends, tables have headers, JSON lists pipe', async () => {
  const labels = { 'edgelb.expose': 'true', 'edgelb.template': 'default', 'edgelb.web.frontend.rules': 'hostEq:jq.example.com' };
  const add = await sh(`echo '${JSON.stringify({ ...WEB, id: '/fidelity/jq', labels })}' | sip marathon app add`);
  assert.is(add.code, 0, add.err);
  assert.match(add.out, /^Created deployment [\w-]+$/m);
  const loop = await sh(
    `n=0; until sip marathon app show /fidelity/jq | jq -e '.tasksHealthy==1' >/dev/null; do n=$((n+1)); [ $n -gt 120 ] && exit 9; sleep 0.5; done; echo ok`,
  );
  assert.is(loop.code, 0, loop.out + loop.err);
  const ids = await sh(`sip marathon app list --json | jq -r '.[].id'`);
  assert.is(ids.out.trim(), '/fidelity/jq');
  const listed = await sip(['marathon', 'app', 'list']);
  assert.match(listed.out.split('\n')[0]!, /^ID\s+MEM\s+CPUS\s+TASKS\s+HEALTH\s+DEPLOYMENT\s+WAITING\s+CONTAINER\s+CMD$/);
  assert.match(listed.out, /\/fidelity\/jq\s+32\s+0\.1\s+1\/1\s+1\/1\s+---/);
  const tasks = await sip(['marathon', 'task', 'list']);
  assert.match(tasks.out.split('\n')[0]!, /^APP\s+HEALTHY\s+STARTED\s+HOST\s+STATE\s+ID$/);
  // EdgeLB lists and shows the Auto Pool the labels made, as dcos edgelb does.
  let pools: Ran = { code: 1, out: '', err: '' };
  await waitFor(async () => /^auto-default$/m.test((pools = await sip(['edgelb', 'list'])).out), {
    what: 'auto-default listed',
    timeoutMs: 20_000,
    intervalMs: 200,
  }).catch(() => undefined);
  assert.match(pools.out, /^auto-default$/m, pools.out + pools.err);
  const shown = await sh(
    `sip edgelb show auto-default | jq -c '[.autoCreate, .haproxy.frontends[0].linkBackend.map[0].hostEq, (.haproxy.backends[0].services | length)]'`,
  );
  assert.is(shown.out.trim(), '[true,"jq.example.com",1]', shown.err);
  // dcos's secrets flags: -j and --store-id default; another store id is refused.
  assert.is((await sh(`echo s3cr3t-value | sip security secrets create fidelity/jq/token`)).code, 0);
  assert.is((await sh(`sip security secrets get -j --store-id default fidelity/jq/token | jq -r .value`)).out.trim(), 's3cr3t-value');
  const otherStore = await sip(['security', 'secrets', 'get', '--store-id', 'vault', 'fidelity/jq/token']);
  assert.is(otherStore.code, 2);
  assert.not.match(otherStore.out + otherStore.err, 's3cr3t-value');
  const versions = await sh(`sip marathon app version list /fidelity/jq | jq -r 'length'`);
  assert.is(versions.out.trim(), '1');
  const stop = await sip(['marathon', 'app', 'stop', '/fidelity/jq', '--wait']);
  assert.is(stop.code, 0, stop.out + stop.err);
  const stopped = await sh(`sip marathon app show /fidelity/jq | jq -c '[.instances, (.tasks | length)]'`);
  assert.is(stopped.out.trim(), '[0,0]');
  assert.is((await sip(['marathon', 'app', 'update', '/fidelity/jq', 'instances'])).code, 2, 'a property without = is a usage error');
  assert.is((await sip(['marathon', 'app', 'update', '/fidelity/jq', '__proto__={"x":1}'])).code, 2);
  await sip(['marathon', 'app', 'remove', '/fidelity/jq', '--wait']);
});

fidelity.run();
