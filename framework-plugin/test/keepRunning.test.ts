import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keepRunning, RESTART_DELAY_MS } from '../src/local/daemonProcess.js';
import { createLogger } from '../src/log/logger.js';

// The local cluster keeps sip agent and sip server running as systemd's
// Restart=always does on a node: a daemon that dies comes back (same
// settings), one that is stopped stays stopped, a failing start is retried.

const logger = createLogger({ name: 't', level: 'silent' });

/** A fake daemon whose death the test decides. */
function fakeDaemon(n: number): { n: number; whenExited: Promise<void>; die(): void; stop(): Promise<void>; stopped: boolean } {
  let die!: () => void;
  const whenExited = new Promise<void>((r) => (die = r));
  const d = {
    n,
    whenExited,
    die,
    stopped: false,
    async stop() {
      d.stopped = true;
      die();
    },
  };
  return d;
}

test('a daemon that dies is started again after the restart delay, and stop() ends it for good', async () => {
  const started: Array<ReturnType<typeof fakeDaemon>> = [];
  const kept = await keepRunning(async () => (started.push(fakeDaemon(started.length + 1)), started.at(-1)!), { logger, component: 'x' });
  assert.is(kept.current().n, 1);
  const t0 = Date.now();
  started[0]!.die();
  while (started.length < 2 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
  assert.is(started.length, 2, 'started again');
  assert.ok(Date.now() - t0 >= RESTART_DELAY_MS - 50, `not before the delay (${Date.now() - t0} ms)`);
  assert.is(kept.current().n, 2);
  assert.is(kept.restarts(), 1);
  await kept.stop();
  assert.ok(started[1]!.stopped, 'the running one stopped');
  await new Promise((r) => setTimeout(r, RESTART_DELAY_MS + 200));
  assert.is(started.length, 2, 'a stopped daemon is not started again');
});

test('a stop during the restart delay cancels the restart', async () => {
  let starts = 0;
  const first = fakeDaemon(1);
  const kept = await keepRunning(async () => (++starts === 1 ? first : fakeDaemon(starts)), { logger, component: 'x' });
  first.die();
  await new Promise((r) => setTimeout(r, 50));
  await kept.stop();
  await new Promise((r) => setTimeout(r, RESTART_DELAY_MS + 200));
  assert.is(starts, 1);
});

test('a start that fails is tried again, the wait doubling', async () => {
  const times: number[] = [];
  const first = fakeDaemon(1);
  const kept = await keepRunning(
    async () => {
      times.push(Date.now());
      if (times.length === 1) return first;
      if (times.length < 3) throw new Error('port still in use');
      return fakeDaemon(times.length);
    },
    { logger, component: 'x' },
  );
  first.die();
  const t0 = Date.now();
  while (times.length < 3 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
  assert.is(times.length, 3);
  // The first wait is the restart delay (1 s), the failed start's doubled (2 s).
  assert.ok(times[2]! - times[1]! >= 2 * (times[1]! - t0) - 100, `waits ${times[1]! - t0} then ${times[2]! - times[1]!} ms`);
  assert.is(kept.restarts(), 1);
  await kept.stop();
});

test.run();
