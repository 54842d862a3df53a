import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sharedRead } from '../src/delivery/server/sharedRead.js';

// sip server's view of the master's tasks: a burst of credential requests
// shares one GET_TASKS; a refusal is checked against a read made after it was asked.

test('concurrent callers share one read in flight; within the floor its answer serves, after it a new read', async () => {
  let t = 1000;
  let reads = 0;
  let release: (v: number) => void = () => undefined;
  const view = sharedRead(
    () =>
      new Promise<number>((r) => {
        reads++;
        release = r;
      }),
    500,
    () => t,
  );
  const a = view.get();
  const b = view.get();
  release(7);
  assert.equal(await a, { value: 7, startedAt: 1000 });
  assert.equal(await b, { value: 7, startedAt: 1000 });
  assert.is(reads, 1, 'one read for the burst');
  t = 1400;
  assert.is((await view.get()).value, 7, 'reused within the floor');
  assert.is(reads, 1);
  t = 1600;
  const c = view.get();
  release(8);
  assert.is((await c).value, 8, 'a new read after the floor');
  assert.is(reads, 2);
});

test('notBefore: a caller that must see what happened after it asked gets a read started no earlier; a failed read is not kept', async () => {
  let t = 0;
  let n = 0;
  let fail = false;
  const view = sharedRead(
    async () => (fail ? Promise.reject(new Error('master down')) : ++n),
    10_000,
    () => t,
  );
  assert.is((await view.get()).value, 1);
  t = 5;
  assert.is((await view.get()).value, 1, 'within the floor');
  assert.is((await view.get(3)).value, 2, 'asked at 3: the read of 0 is too old');
  fail = true;
  t = 20_000;
  await view.get().then(
    () => assert.unreachable('the read failed'),
    (err: Error) => assert.is(err.message, 'master down'),
  );
  fail = false;
  assert.is((await view.get()).value, 3, 'the failure was not kept');
});

test.run();
