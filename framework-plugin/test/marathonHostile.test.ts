import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAppDefinition } from '../src/core/marathon/appDefinition.js';
import { assignServicePorts } from '../src/core/marathon/servicePorts.js';
import type { DockerEngine } from '../src/local/launcher/dockerTask.js';
import { matchesLabelSelector, parseLabelSelector } from '../src/local/marathon-api/server.js';
import { createLocalCluster } from '../src/local/scheduler/localCluster.js';
import { createLocalStore } from '../src/stores/localStore.js';
import { createFakeClock } from './fakeClock.js';

// What a hostile tenant tried against the Marathon API's new surface (review
// of the fidelity work), kept as tests: each attempt must change nothing it
// should not.

const noDocker = { unavailable: async () => 'not here', imageUser: async () => undefined, pull: async () => undefined } as unknown as DockerEngine;
function cluster(maxTasks?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'sip-hostile-'));
  return createLocalCluster({
    stateDir: dir,
    store: createLocalStore({ dir: join(dir, 'secrets') }),
    logger: pino({ level: 'silent' }, new Writable({ write: (_c, _e, cb) => cb() })),
    agentEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    clock: createFakeClock(),
    appStore: { load: async () => [], save: async () => undefined },
    docker: noDocker,
    isolation: { enabled: false, reason: 'a unit test', insecure: true },
    ...(maxTasks ? { maxTasks } : {}),
  });
}
const fails = async (p: Promise<unknown>): Promise<{ code?: string; status?: number; message: string }> =>
  p.then(
    () => ({ message: 'it worked' }),
    (e: { code?: string; status?: number; message: string }) => e,
  );

test('an app being removed cannot be added again while its tasks stop (its user is still alive)', async () => {
  const c = cluster();
  await c.start();
  await c.addApp(parseAppDefinition({ id: '/evil/x', cmd: "trap '' TERM; exec sleep 3", taskKillGracePeriodSeconds: 100000 }));
  for (let i = 0; i < 50 && c.tasks('/evil/x')[0]?.state !== 'TASK_RUNNING'; i++) await new Promise((r) => setTimeout(r, 50));
  await c.removeApp('/evil/x');
  const again = await fails(c.addApp(parseAppDefinition({ id: '/evil/x', cmd: 'exec sleep 1', instances: 0 })));
  assert.is(again.code, 'SIP_APP_EXISTS');
  assert.match(again.message, 'still stopping');
  await c.stop();
});

test('an app id cannot also be a group of apps', async () => {
  const c = cluster();
  await c.start();
  await c.addApp(parseAppDefinition({ id: '/k/a', cmd: 'exec sleep 1', instances: 0 }));
  assert.is((await fails(c.addApp(parseAppDefinition({ id: '/k', cmd: 'exec sleep 1', instances: 0 })))).status, 422);
  assert.is((await fails(c.addApp(parseAppDefinition({ id: '/k/a/b', cmd: 'exec sleep 1', instances: 0 })))).status, 422);
  await c.stop();
});

test('a rollback of a rollback restores, never deletes; an update during the create rolls back to the create', async () => {
  const c = cluster();
  await c.start();
  // Definitions that never fit the agent: their deployments stay open.
  const create = await c.addApp(parseAppDefinition({ id: '/r/b', cmd: 'exec sleep 60', mem: 99_999_998 }));
  const d1 = await c.putApp(parseAppDefinition({ id: '/r/b', cmd: 'exec sleep 60', mem: 99_999_999 }));
  assert.is.not(d1.id, create.deployment.id);
  const d2 = await c.cancelDeployment(d1.id, false);
  assert.is(c.getApp('/r/b')?.mem, 99_999_998, 'rolled back to the create, not deleted');
  assert.ok(d2);
  await c.cancelDeployment(d2!.id, false);
  assert.is(c.getApp('/r/b')?.mem, 99_999_999, 'the rollback rolled back: the update again, the app still there');
  const forced = c.deployments()[0]!;
  assert.is(await c.cancelDeployment(forced.id, true), undefined);
  assert.is(c.getApp('/r/b')?.mem, 99_999_999, 'force stops where it is');
  assert.equal(c.deployments(), []);
  await c.stop();
});

test('service ports: an explicit port in use or given twice is refused; a rollback never shares a port', () => {
  const app = parseAppDefinition({ id: '/p', cmd: 'x', portDefinitions: [{ port: 10000 }] });
  const taken = assignServicePorts(app, new Set([10000]));
  assert.not.ok(taken.ok);
  if (!taken.ok) assert.equal([taken.problem.kind, taken.problem.path], ['conflict', '/portDefinitions/0/port']);
  const twice = assignServicePorts(parseAppDefinition({ id: '/p', cmd: 'x', portDefinitions: [{ port: 10005 }, { port: 10005 }] }), new Set());
  assert.not.ok(twice.ok);
  const filled = assignServicePorts(parseAppDefinition({ id: '/p', cmd: 'x', portDefinitions: [{ port: 0 }, { port: 10001 }] }), new Set([10000]));
  assert.ok(filled.ok);
  if (filled.ok)
    assert.equal(
      filled.app.portDefinitions?.map((p) => p.port),
      [10002, 10001],
    );
  const many = Array.from({ length: 65 }, () => ({ port: 0 }));
  assert.throws(() => parseAppDefinition({ id: '/hog', cmd: 'x', portDefinitions: many }), /at most 64 ports/);
});

test('the label selector is linear and bounded: a 15,000-character term answers at once or is refused', () => {
  const started = process.hrtime.bigint();
  const terms = parseLabelSelector(`a${'='.repeat(1500)}\nx`);
  assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 50);
  assert.is(matchesLabelSelector({ a: 'b' }, terms), false);
  assert.throws(() => parseLabelSelector(`a${'='.repeat(15000)}`), /at most 2048/);
  const t = parseLabelSelector('tier==web, team, env in (prod, staging), x notin (1), y!=2');
  assert.is(matchesLabelSelector({ tier: 'web', team: '', env: 'prod' }, t), true);
  assert.is(matchesLabelSelector({ tier: 'web', team: '', env: 'dev' }, t), false);
  assert.is(matchesLabelSelector(Object.assign(Object.create(null), { ['__proto__']: 'x' }) as Record<string, string>, parseLabelSelector('__proto__')), true);
  assert.is(matchesLabelSelector({}, parseLabelSelector('constructor')), false);
});

test('apps of cpus 0 and mem 0 cannot launch without end: at most maxTasks at once', async () => {
  const c = cluster(3);
  await c.start();
  await c.addApp(parseAppDefinition({ id: '/free', cmd: 'exec sleep 60', cpus: 0, mem: 0, instances: 100, portDefinitions: [] }));
  for (let i = 0; i < 40; i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(c.tasks('/free').length <= 3, `${c.tasks('/free').length} tasks`);
  await c.stop();
});

test('a task log planted as a symlink is never followed by root: the task does not start, the target is untouched', async () => {
  const { startTaskProcess } = await import('../src/local/launcher/taskProcess.js');
  const { symlinkSync, writeFileSync, readFileSync, mkdtempSync: mk } = await import('node:fs');
  const dir = mk(join(tmpdir(), 'sip-plant-'));
  const target = join(dir, 'precious');
  writeFileSync(target, 'root-owned content\n');
  const sandbox = mk(join(tmpdir(), 'sip-plant-sandbox-'));
  symlinkSync(target, join(sandbox, 'stdout'));
  assert.throws(() => startTaskProcess({ cmd: 'echo owned' }, sandbox, { PATH: '/usr/bin:/bin' }), /ELOOP|EEXIST/);
  assert.is(readFileSync(target, 'utf8'), 'root-owned content\n');
});

test.run();
