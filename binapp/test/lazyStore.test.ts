import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lazyStore } from '../src/store/lazyStore.js';
import { createFakeStore } from './fakeStore.js';

test('the real store is loaded once, by warm() or by the first call, and calls made meanwhile wait for it', async () => {
  let loads = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const real = createFakeStore();
  const store = lazyStore(async () => {
    loads++;
    await gate;
    return real;
  });
  const warming = store.warm();
  const put = store.put('bin/a', Readable.from([Buffer.from('hello')]), 'text/plain');
  const ping = store.ping();
  assert.is(loads, 1);
  release();
  await Promise.all([warming, put, ping]);
  assert.is(loads, 1, 'loaded once');
  assert.is(real.objects.get('bin/a')?.bytes.toString(), 'hello');
});

test('a failed load fails the calls with its error', async () => {
  const store = lazyStore(async () => {
    throw new Error('cannot load the AWS SDK');
  });
  try {
    await store.get('bin/x');
    assert.unreachable('resolved');
  } catch (err) {
    assert.match((err as Error).message, 'cannot load the AWS SDK');
  }
});

test.run();
