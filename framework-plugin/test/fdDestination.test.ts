import { openSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fdDestination } from '../src/log/fdDestination.js';
import { createLogger } from '../src/log/logger.js';

// A daemon whose log disk fills keeps running: lines are dropped and counted, then said when the disk has room again.

test('a full disk drops lines instead of throwing, and the next line that fits says how many were lost', () => {
  const written: string[] = [];
  let full = false;
  const dest = fdDestination(1, (_fd, data) => {
    if (full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    written.push(data);
  });
  const log = createLogger({ name: 't', destination: dest as unknown as NodeJS.WritableStream });
  log.info('before');
  full = true;
  for (let i = 0; i < 5; i++) log.info({ i }, 'while full');
  assert.is(dest.dropped(), 5);
  full = false;
  log.info('after');
  assert.is(written.length, 3, 'before, the notice, after');
  assert.match(written[0]!, '"msg":"before"');
  assert.match(written[1]!, '"dropped":5');
  assert.match(written[2]!, '"msg":"after"');
  assert.is(dest.dropped(), 0);
});

test('on the real file system a full device drops the line and does not throw', () => {
  // /dev/full answers every write with ENOSPC, as a full disk does.
  const dest = fdDestination(openSync('/dev/full', 'w'));
  dest.write('a line\n');
  dest.write('another\n');
  assert.is(dest.dropped(), 2);
});

test.run();
