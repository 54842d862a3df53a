import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAppVersions } from '../src/local/scheduler/appVersions.js';

// An app's versions as Marathon keeps them: newest first, bounded, each
// definition as it was; stamps that never go backwards.

test('versions are listed newest first, bounded, each with its own definition', () => {
  const v = createAppVersions({ version: '2026-01-01T00:00:00.000Z', app: { n: 0 } }, 3);
  v.record('2026-01-01T00:00:01.000Z', { n: 1 });
  v.record('2026-01-01T00:00:02.000Z', { n: 2 });
  v.record('2026-01-01T00:00:03.000Z', { n: 3 });
  assert.equal(v.list(), ['2026-01-01T00:00:03.000Z', '2026-01-01T00:00:02.000Z', '2026-01-01T00:00:01.000Z'], 'the oldest went past the bound');
  assert.equal(v.at('2026-01-01T00:00:02.000Z'), { n: 2 });
  assert.is(v.at('2026-01-01T00:00:00.000Z'), undefined);
});

test('a stamp is later than the last version, even within one millisecond or with the clock behind', () => {
  const v = createAppVersions({ version: '2026-01-01T00:00:00.000Z', app: {} }, 50);
  assert.is(v.stampAfter(new Date('2026-01-01T00:00:05.000Z'), '2026-01-01T00:00:00.000Z'), '2026-01-01T00:00:05.000Z');
  assert.is(v.stampAfter(new Date('2026-01-01T00:00:00.000Z'), '2026-01-01T00:00:00.000Z'), '2026-01-01T00:00:00.001Z');
  assert.is(v.stampAfter(new Date('2025-12-31T00:00:00.000Z'), '2026-01-01T00:00:00.000Z'), '2026-01-01T00:00:00.001Z');
});

test.run();
