import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HealthCheck } from '../src/core/marathon/appDefinition.js';
import type { ProbeResult } from '../src/local/launcher/healthCheck.js';
import { monitorHealth } from '../src/local/scheduler/healthMonitor.js';
import { createFakeClock } from './fakeClock.js';

// Marathon's health-check timing, run on a fake clock: minutes pass in microseconds.
const check = (over: Partial<HealthCheck> = {}): HealthCheck => ({
  protocol: 'HTTP',
  path: '/ping',
  gracePeriodSeconds: 300,
  intervalSeconds: 60,
  timeoutSeconds: 20,
  maxConsecutiveFailures: 3,
  delaySeconds: 15,
  ...over,
});

function harness(checks: HealthCheck[], answers: () => ProbeResult) {
  const clock = createFakeClock();
  const changes: boolean[] = [];
  const kills: Array<{ reason: string; failures: number; at: number }> = [];
  let probes = 0;
  const start = clock.now().getTime();
  const monitor = monitorHealth('t1', checks, {
    clock,
    probe: async () => (probes++, answers()),
    onChange: (alive) => changes.push(alive),
    onUnhealthy: (reason, failures) => kills.push({ reason, failures, at: (clock.now().getTime() - start) / 1000 }),
  });
  return { clock, monitor, changes, kills, probes: () => probes };
}

test('first probe after min(delay, interval), then every interval', async () => {
  const h = harness([check({ delaySeconds: 15, intervalSeconds: 60 })], () => ({ ok: true }));
  await h.clock.advance(14_999);
  assert.is(h.probes(), 0);
  await h.clock.advance(1);
  assert.is(h.probes(), 1);
  assert.ok(h.monitor.healthy());
  assert.equal(h.changes, [true]);
  await h.clock.advance(60_000 * 3);
  assert.is(h.probes(), 4);
  h.monitor.stop();
});

test('failures before the first success are ignored during the grace period, then count and kill', async () => {
  const h = harness([check({ gracePeriodSeconds: 100, intervalSeconds: 10, delaySeconds: 10, maxConsecutiveFailures: 3 })], () => ({
    ok: false,
    reason: 'HTTP 503',
  }));
  await h.clock.advance(99_000);
  assert.equal(h.kills, [], 'no kill inside the grace period');
  assert.equal(h.monitor.results(), [], 'no verdict yet: failures in grace are not shown as a result');
  await h.clock.advance(30_000);
  assert.equal(
    h.kills.map((k) => [k.reason, k.failures, k.at]),
    [['HTTP 503', 3, 120]],
  );
  assert.ok(!h.monitor.healthy());
  h.monitor.stop();
});

test('after a success, failures count at once (no grace) and a recovery resets them', async () => {
  let ok = true;
  const h = harness([check({ gracePeriodSeconds: 1000, intervalSeconds: 10, delaySeconds: 10, maxConsecutiveFailures: 2 })], () =>
    ok ? { ok: true } : { ok: false, reason: 'connection failed' },
  );
  await h.clock.advance(10_000);
  ok = false;
  await h.clock.advance(10_000);
  assert.is(h.monitor.results()[0]?.consecutiveFailures, 1);
  ok = true;
  await h.clock.advance(10_000);
  assert.is(h.monitor.results()[0]?.consecutiveFailures, 0);
  ok = false;
  await h.clock.advance(20_000);
  assert.is(h.kills.length, 1);
  assert.equal(h.changes, [true, false, true, false]);
  h.monitor.stop();
});

test('stop() ends probing: no probe, change or kill afterwards', async () => {
  const h = harness([check({ delaySeconds: 1, intervalSeconds: 1, gracePeriodSeconds: 0, maxConsecutiveFailures: 1 })], () => ({ ok: false, reason: 'x' }));
  h.monitor.stop();
  await h.clock.advance(3_600_000);
  assert.is(h.probes(), 0);
  assert.equal(h.kills, []);
});

test('an app without health checks is healthy as soon as it runs', () => {
  const h = harness([], () => ({ ok: false, reason: 'never probed' }));
  assert.ok(h.monitor.healthy());
  assert.equal(h.monitor.results(), []);
});

test.run();
