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

function cluster(store: AppStore) {
  const dir = mkdtempSync(join(tmpdir(), 'sip-sched-'));
  return createLocalCluster({
    stateDir: dir,
    store: createLocalStore({ dir: join(dir, 'secrets') }),
    logger: pino({ level: 'silent' }, new Writable({ write: (_c, _e, cb) => cb() })),
    agentEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    clock: createFakeClock(),
    appStore: store,
    docker: noDocker,
  });
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
  assert.equal(saved.at(-1)?.map((s) => s.app.id), ['/web']);
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

test.run();
