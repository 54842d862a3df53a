import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAppDefinition } from '../src/core/marathon/appDefinition.js';
import { createEventBus, type MarathonEvent } from '../src/core/marathon/events.js';
import type { TaskStatus, TaskView } from '../src/core/marathon/views.js';
import { appView, latestVersion, newAppEntry, queueItemOf } from '../src/local/scheduler/appEntry.js';
import { endDeployment, startDeployment } from '../src/local/scheduler/deployments.js';
import type { TaskRunner } from '../src/local/scheduler/taskRunner.js';

// The local cluster's app state without processes: what Marathon's API shows
// of an app, its launch queue line, and the order of deployment events.

const V1 = '2026-01-01T00:00:00.000Z';
const user = { uid: 2000001, gid: 2000001 };
const app = (instances: number) =>
  parseAppDefinition({ id: '/team/web', cmd: 'x', instances, healthChecks: [{ protocol: 'COMMAND', command: { value: 'true' } }] });
const fakeTask = (id: string, status: TaskStatus, healthy: boolean, version = V1): TaskRunner =>
  ({
    id,
    version,
    status: () => status,
    healthy: () => healthy,
    view: () => ({ id, healthCheckResults: [{ alive: healthy }] }) as unknown as TaskView,
  }) as unknown as TaskRunner;

test('the API view counts staged, running, healthy and unhealthy tasks, and carries the latest version (scales included)', () => {
  const e = newAppEntry(app(3), V1, user);
  e.tasks.set('a', fakeTask('a', 'TASK_RUNNING', true));
  e.tasks.set('b', fakeTask('b', 'TASK_RUNNING', false));
  e.tasks.set('c', fakeTask('c', 'TASK_STAGING', false));
  e.lastScalingAt = '2026-01-02T00:00:00.000Z';
  const v = appView(e, true);
  assert.equal([v.tasksStaged, v.tasksRunning, v.tasksHealthy, v.tasksUnhealthy], [1, 2, 1, 1]);
  assert.is(v.version, '2026-01-02T00:00:00.000Z');
  assert.equal(v.versionInfo, { lastScalingAt: '2026-01-02T00:00:00.000Z', lastConfigChangeAt: V1 });
  assert.is(latestVersion(e), '2026-01-02T00:00:00.000Z');
  assert.is(v.tasks?.length, 3);
  assert.is(appView(e, false).tasks, undefined);
});

test('the queue line: how many are missing, since when, and why (blocked, backing off, no room); none when complete', () => {
  const now = new Date('2026-01-01T00:01:00.000Z');
  const e = newAppEntry(app(2), V1, user);
  e.tasks.set('a', fakeTask('a', 'TASK_RUNNING', true));
  const line = queueItemOf(e, now, false)!;
  assert.is(line.count, 1);
  assert.is(line.since, now.toISOString());
  assert.is(line.lastUnusedOfferReason, 'the agent has no room left (cpus, mem or ports)');
  e.nextLaunchAt = now.getTime() + 10_000;
  assert.equal(queueItemOf(e, now, true)!.delay, { timeLeftSeconds: 10, overdue: false });
  assert.is(queueItemOf(e, now, true)!.lastUnusedOfferReason, 'backing off after failures');
  e.blocked = 'denied: secret outside the path';
  assert.is(queueItemOf(e, now, true)!.lastUnusedOfferReason, 'denied: secret outside the path');
  e.tasks.set('b', fakeTask('b', 'TASK_RUNNING', true));
  assert.is(queueItemOf(e, now, true), undefined, 'complete: no line');
  assert.is(e.waitingSince, undefined);
});

test("deployment events come in Marathon's order; a newer deployment fails the open one; the end is success or failure", () => {
  const bus = createEventBus();
  const seen: MarathonEvent[] = [];
  bus.subscribe((ev) => seen.push(ev));
  const e = newAppEntry(app(1), V1, user);
  const first = startDeployment(bus, e, 'StartApplication', { clientIp: '127.0.0.1', uri: '/v2/apps/team/web' }, undefined);
  assert.equal(
    seen.map((s) => s.eventType),
    ['api_post_event', 'group_change_success', 'deployment_info'],
  );
  const second = startDeployment(bus, e, 'ScaleApplication', undefined, { app: e.app, version: V1 });
  assert.equal(
    seen.slice(3).map((s) => s.eventType),
    ['group_change_success', 'deployment_step_failure', 'deployment_failed', 'deployment_info'],
  );
  assert.match(JSON.stringify(seen[5]), first.id);
  assert.is(e.deployment, second);
  endDeployment(bus, e, true);
  assert.equal(
    seen.slice(7).map((s) => s.eventType),
    ['deployment_step_success', 'deployment_success'],
  );
  assert.is(e.deployment, undefined);
  assert.is(e.before, undefined);
  endDeployment(bus, e, false);
  assert.is(seen.length, 9, 'no deployment open: nothing more');
});

test.run();
