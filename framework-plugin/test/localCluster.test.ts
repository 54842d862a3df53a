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

test.run();
