import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backoffDelayMs, reconcile, type AppState, type ObservedTask } from '../src/local/scheduler/reconcile.js';

// The scheduler's decisions, as values: no process, no timer, no sleep.
const app = (over: Partial<AppState> = {}): AppState => ({
  instances: 1,
  version: 'v2',
  removed: false,
  blocked: false,
  nextLaunchAt: 0,
  deploymentOpen: false,
  stopping: false,
  fits: true,
  ...over,
});
let n = 0;
const task = (over: Partial<ObservedTask> = {}): ObservedTask => ({
  id: `t${n++}`,
  version: 'v2',
  status: 'TASK_RUNNING',
  healthy: true,
  stagedAt: `2026-11-29T00:00:${String(n).padStart(2, '0')}Z`,
  ...over,
});
const kinds = (actions: ReturnType<typeof reconcile>): string[] => actions.map((a) => (a.kind === 'kill' ? `kill ${a.taskId} (${a.reason})` : a.kind));

test('fewer tasks than instances: one launch, and only one while a task is staging', () => {
  assert.equal(kinds(reconcile(app({ instances: 3 }), [], 0)), ['launch']);
  assert.equal(kinds(reconcile(app({ instances: 3 }), [task({ status: 'TASK_STAGING', healthy: false })], 0)), []);
});

test('backoff: no launch before nextLaunchAt, a launch at it', () => {
  assert.equal(kinds(reconcile(app({ nextLaunchAt: 5_000 }), [], 4_999)), []);
  assert.equal(kinds(reconcile(app({ nextLaunchAt: 5_000 }), [], 5_000)), ['launch']);
});

test('the backoff grows by backoffFactor and stops at maxLaunchDelaySeconds', () => {
  const def = { backoffSeconds: 1, backoffFactor: 2, maxLaunchDelaySeconds: 10 };
  assert.equal(
    [0, 1, 2, 3, 4, 5, 6].map((f) => backoffDelayMs(def, f)),
    [0, 1000, 2000, 4000, 8000, 10_000, 10_000],
  );
});

test('a blocked app (denied secret) is never launched again, however much time passes', () => {
  for (const now of [0, 60_000, 86_400_000]) assert.equal(kinds(reconcile(app({ blocked: true }), [], now)), []);
});

test('a task that does not fit what the agent has left waits: no launch until it fits', () => {
  assert.equal(kinds(reconcile(app({ instances: 1_000_000_000, fits: false }), [task(), task()], 0)), ['reset-failures']);
  assert.equal(kinds(reconcile(app({ instances: 1_000_000_000, fits: true }), [task(), task()], 0)), ['reset-failures', 'launch']);
});

test('a stopping cluster launches nothing', () => {
  assert.equal(kinds(reconcile(app({ stopping: true }), [], 0)), []);
});

test('scale down kills the youngest', () => {
  const older = task();
  const younger = task();
  assert.equal(kinds(reconcile(app({ instances: 1 }), [older, younger], 0)), ['reset-failures', `kill ${younger.id} (scaled down)`]);
});

test('a new version replaces old tasks only as new ones turn healthy', () => {
  const old = task({ version: 'v1' });
  const fresh = task({ status: 'TASK_RUNNING', healthy: false });
  assert.equal(kinds(reconcile(app(), [old, fresh], 0)), [], 'the old task stays while the new one is not healthy');
  const ready = { ...fresh, healthy: true };
  assert.equal(kinds(reconcile(app(), [old, ready], 0)), ['reset-failures', `kill ${old.id} (replaced by a new version)`]);
});

test('the deployment succeeds only with exactly instances healthy tasks of the version and no old one', () => {
  const open = app({ instances: 2, deploymentOpen: true });
  assert.ok(!kinds(reconcile(open, [task(), task({ healthy: false })], 0)).includes('deployment-succeeded'));
  assert.ok(!kinds(reconcile(open, [task(), task(), task({ version: 'v1' })], 0)).includes('deployment-succeeded'));
  assert.ok(kinds(reconcile(open, [task(), task()], 0)).includes('deployment-succeeded'));
  assert.ok(!kinds(reconcile({ ...open, blocked: true }, [task(), task()], 0)).includes('deployment-succeeded'));
});

test('a removed app: its tasks are killed, then it is forgotten once none is left', () => {
  const t = task();
  assert.equal(kinds(reconcile(app({ removed: true }), [t], 0)), [`kill ${t.id} (app removed)`]);
  assert.equal(kinds(reconcile(app({ removed: true }), [{ ...t, status: 'TASK_KILLING' }], 0)), [], 'waits for the task being killed');
  assert.equal(kinds(reconcile(app({ removed: true }), [], 0)), ['deployment-succeeded', 'forget']);
});

test.run();
