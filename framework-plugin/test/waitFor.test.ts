import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isSipError, SipError } from '../src/core/errors/SipError.js';
import { waitFor } from '../src/net/waitFor.js';

test('resolves with the first truthy value', async () => {
  let n = 0;
  const v = await waitFor(async () => (++n >= 3 ? `ready after ${n}` : undefined), { what: 'thing', timeoutMs: 1000, intervalMs: 1 });
  assert.is(v, 'ready after 3');
});

test('times out with SIP_WAIT_TIMEOUT naming what and the last failure', async () => {
  const err = await waitFor(
    async () => {
      throw new Error('connection refused');
    },
    { what: 'moto on 127.0.0.1:1', timeoutMs: 30, intervalMs: 5 },
  ).catch((e: unknown) => e);
  assert.ok(isSipError(err, 'SIP_WAIT_TIMEOUT'));
  assert.match((err as Error).message, /moto on 127\.0\.0\.1:1: connection refused/);
});

test('abortIf stops at once with its error (a process that died)', async () => {
  const died = new SipError('SIP_EMULATOR_START_FAILED', 'exited with 1');
  const started = Date.now();
  const err = await waitFor(async () => false, { what: 'x', timeoutMs: 10_000, abortIf: () => died }).catch((e: unknown) => e);
  assert.is(err, died);
  assert.ok(Date.now() - started < 1000);
});

test.run();
