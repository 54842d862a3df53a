import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAppDefinition } from '../src/core/marathon/appDefinition.js';
import type { DockerEngine } from '../src/local/launcher/dockerTask.js';
import type { AppStore, StoredApp } from '../src/local/scheduler/appStore.js';
import { createLocalCluster } from '../src/local/scheduler/localCluster.js';
import { createLocalStore } from '../src/stores/localStore.js';
import { createFakeClock } from './fakeClock.js';

// The scheduler's bookkeeping with real task processes but a fake clock and
// an app store the test controls.
const noDocker: DockerEngine = {
  unavailable: async () => 'not in this test',
  imageUser: async () => undefined,
  pull: async () => undefined,
  start: () => {
    throw new Error('no docker here');
  },
} as unknown as DockerEngine;

const clocks = new WeakMap<object, ReturnType<typeof createFakeClock>>();

function cluster(
  store: AppStore,
  resources?: { cpus: number; mem: number },
  isolation: { enabled: false; reason: string; insecure: boolean } = { enabled: false, reason: 'a unit test', insecure: true },
  agents?: Array<{ hostname: string; attributes: Record<string, string> }>,
) {
  const dir = mkdtempSync(join(tmpdir(), 'sip-sched-'));
  const clock = createFakeClock();
  const c = createLocalCluster({
    stateDir: dir,
    store: createLocalStore({ dir: join(dir, 'secrets') }),
    logger: pino({ level: 'silent' }, new Writable({ write: (_c, _e, cb) => cb() })),
    agentEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    clock,
    appStore: store,
    docker: noDocker,
    isolation,
    ...(resources ? { resources } : {}),
    ...(agents ? { agents } : {}),
  });
  clocks.set(c, clock);
  return c;
}

test('a failed save launches nothing and leaves no app behind; the same add then works', async () => {
  const saved: StoredApp[][] = [];
  let failing = true;
  const store: AppStore = {
    load: async () => [],
    save: async (apps) => {
      if (failing) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      saved.push([...apps]);
    },
  };
  const c = cluster(store);
  await c.start();
  const app = parseAppDefinition({ id: '/web', cmd: 'exec sleep 30' });
  const err = await c.addApp(app).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(err, 'the add failed');
  assert.equal(c.listApps(), []);
  assert.equal(c.tasks(), [], 'no task was launched');

  failing = false;
  await c.addApp(app);
  assert.equal(
    saved.at(-1)?.map((s) => s.app.id),
    ['/web'],
  );
  assert.is(c.tasks('/web').length, 1, 'the saved app got its task');
  await c.stop();
});

test('concurrent adds of one id: exactly one wins, the other is told it exists', async () => {
  const store: AppStore = { load: async () => [], save: async () => new Promise((r) => setTimeout(r, 20)) };
  const c = cluster(store);
  await c.start();
  const app = parseAppDefinition({ id: '/once', cmd: 'exec sleep 30' });
  const results = await Promise.allSettled([c.addApp(app), c.addApp(app), c.addApp(app)]);
  assert.equal(results.map((r) => r.status).sort(), ['fulfilled', 'rejected', 'rejected']);
  assert.ok(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason.code === 'SIP_APP_EXISTS'));
  assert.is(c.tasks('/once').length, 1);
  await c.stop();
});

test('instances: 1e9 launches only what the agent offers; the rest waits and the scheduler stays responsive', async () => {
  const c = cluster({ load: async () => [], save: async () => undefined }, { cpus: 2, mem: 4096 });
  await c.start();
  await c.addApp(parseAppDefinition({ id: '/greedy', cmd: 'exec sleep 30', instances: 1_000_000_000, cpus: 0.5, mem: 32 }));
  // Let launches happen: each waits for the previous one to leave staging.
  // Each launch waits for the previous task to leave staging (real process start), then the next tick (fake clock) launches again.
  const clock = clocks.get(c)!;
  for (let i = 0; i < 400 && c.tasks('/greedy').filter((t) => t.state === 'TASK_RUNNING').length < 4; i++) {
    await new Promise((r) => setTimeout(r, 10));
    await clock.advance(200);
  }
  for (let i = 0; i < 20; i++) await clock.advance(200); // many more ticks: nothing more may launch
  assert.is(c.tasks('/greedy').length, 4, '2 cpus / 0.5 = 4 tasks');
  const other = await c.addApp(parseAppDefinition({ id: '/small', cmd: 'exec sleep 30', cpus: 1, mem: 32 }));
  assert.ok(other.deployment.id, 'the API still answers');
  assert.is(c.tasks('/small').length, 0, 'no cpu left: /small waits');
  await c.stop();
});

test('where tasks cannot be isolated, an app with secrets is refused before anything is fetched, with the reason', async () => {
  const c = cluster({ load: async () => [], save: async () => undefined }, undefined, {
    enabled: false,
    reason: 'the cluster is not running as root',
    insecure: false,
  });
  await c.start();
  await c.addApp(parseAppDefinition({ id: '/team/app', cmd: 'exec sleep 30', env: { S: { secret: 's' } }, secrets: { s: { source: 'team/app/s' } } }));
  const clock = clocks.get(c)!;
  let failure: string | undefined;
  for (let i = 0; i < 100 && !failure; i++) {
    await new Promise((r) => setTimeout(r, 10));
    await clock.advance(200);
    failure = c.getApp('/team/app')?.lastTaskFailure?.message;
  }
  assert.match(
    failure ?? '',
    'this cluster cannot isolate tasks (the cluster is not running as root); apps with secrets are refused unless it is started with --insecure-shared-identity',
  );
  await c.addApp(parseAppDefinition({ id: '/plain', cmd: 'exec sleep 30' }));
  assert.is(c.tasks('/plain').length, 1, 'apps without secrets still run');
  await c.stop();
});

/** Advances the fake clock until `done` holds (real task processes start meanwhile). */
async function settle(c: ReturnType<typeof cluster>, done: () => boolean): Promise<void> {
  const clock = clocks.get(c)!;
  for (let i = 0; i < 300 && !done(); i++) {
    await new Promise((r) => setTimeout(r, 10));
    await clock.advance(200);
  }
}

const running = (c: ReturnType<typeof cluster>, id: string) => c.tasks(id).filter((t) => t.state === 'TASK_RUNNING');
const three = [
  { hostname: '127.0.0.2', attributes: { rack_id: 'rack-1' } },
  { hostname: '127.0.0.3', attributes: { rack_id: 'rack-1' } },
  { hostname: '127.0.0.4', attributes: { rack_id: 'rack-2' } },
];

test("three agents: tasks spread and honour constraints; a task's host and slaveId are its agent's; the agent's containers are its own", async () => {
  const c = cluster({ load: async () => [], save: async () => undefined }, undefined, undefined, three);
  await c.start();
  const agents = c.agents();
  assert.equal(
    agents.map((a) => a.hostname),
    ['127.0.0.2', '127.0.0.3', '127.0.0.4'],
  );
  assert.ok(
    agents.every((a) => /^[0-9a-f-]{36}-S[0-2]$/.test(a.id)),
    'Mesos agent ids: <master id>-S<n>',
  );
  await c.addApp(parseAppDefinition({ id: '/spread', cmd: 'exec sleep 30', instances: 3, constraints: [['hostname', 'UNIQUE']] }));
  await c.addApp(parseAppDefinition({ id: '/rack2', cmd: 'exec sleep 30', instances: 2, constraints: [['rack_id', 'CLUSTER', 'rack-2']] }));
  await c.addApp(parseAppDefinition({ id: '/one', cmd: 'exec sleep 30', instances: 2, constraints: [['rack_id', 'MAX_PER', '1']] }));
  await settle(c, () => running(c, '/spread').length === 3 && running(c, '/rack2').length === 2 && running(c, '/one').length === 2);
  assert.equal(
    running(c, '/spread')
      .map((t) => t.host)
      .sort(),
    ['127.0.0.2', '127.0.0.3', '127.0.0.4'],
    'UNIQUE hostname: one per agent',
  );
  assert.equal(
    running(c, '/rack2').map((t) => t.host),
    ['127.0.0.4', '127.0.0.4'],
    'CLUSTER rack-2',
  );
  assert.is(new Set(running(c, '/one').map((t) => (t.host === '127.0.0.4' ? 'rack-2' : 'rack-1'))).size, 2, 'MAX_PER 1 per rack');
  for (const t of c.tasks()) assert.is(t.slaveId, agents.find((a) => a.hostname === t.host)!.id);
  // Each agent's GET_CONTAINERS lists its own tasks only.
  const onB = c
    .containers(agents[1]!.id)
    .map((x) => x.taskId)
    .sort();
  assert.equal(
    onB,
    c
      .tasks()
      .filter((t) => t.host === '127.0.0.3')
      .map((t) => t.id)
      .sort(),
  );
  // A fourth UNIQUE instance has nowhere to go: it waits in the queue.
  await c.putApp(parseAppDefinition({ id: '/spread', cmd: 'exec sleep 30', instances: 4, constraints: [['hostname', 'UNIQUE']] }));
  for (let i = 0; i < 10; i++) await clocks.get(c)!.advance(200);
  assert.is(c.tasks('/spread').length, 3);
  assert.ok(
    c.queue().some((q) => q.app.id === '/spread'),
    'the fourth waits in the queue',
  );
  await c.stop();
});

test('an agent removed: its tasks end TASK_LOST at once and are replaced on the others; nothing is placed on it again', async () => {
  const c = cluster({ load: async () => [], save: async () => undefined }, undefined, undefined, three);
  await c.start();
  await c.addApp(parseAppDefinition({ id: '/web', cmd: 'exec sleep 30', instances: 3 }));
  await settle(c, () => running(c, '/web').length === 3);
  const [, b] = c.agents();
  const lostIds = running(c, '/web')
    .filter((t) => t.host === b!.hostname)
    .map((t) => t.id);
  assert.is(lostIds.length, 1, 'one per agent');
  const statuses: string[] = [];
  c.events.subscribe((e) => {
    if (e.eventType === 'status_update_event' && e.taskId === lostIds[0]) statuses.push(String(e.taskStatus));
  });
  const gone = await c.removeAgent(b!.id, 'agent 2 killed');
  assert.is(gone.gone, true);
  assert.equal(statuses, ['TASK_LOST']);
  await settle(c, () => running(c, '/web').length === 3);
  assert.ok(
    running(c, '/web').every((t) => t.host !== b!.hostname),
    'replaced on the others',
  );
  assert.is(c.getApp('/web')?.lastTaskFailure, undefined, 'a lost task is not a failure (no backoff)');
  assert.equal(c.containers(b!.id), []);
  const err = await c.removeAgent('nope-S9', 'x').catch((e: { code?: string }) => e.code);
  assert.is(err, 'SIP_AGENT_NOT_FOUND');
  await c.stop();
});

test.run();
