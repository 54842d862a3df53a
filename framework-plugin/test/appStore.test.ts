import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAppDefinition } from '../src/core/marathon/appDefinition.js';
import { isSipError } from '../src/core/errors/SipError.js';
import { createFileAppStore } from '../src/local/scheduler/appStore.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'sip-apps-'));

test('saved apps come back validated, with their versions; nothing saved is an empty list', async () => {
  const file = join(dir(), 'marathon', 'apps.json');
  const store = createFileAppStore(file);
  assert.equal(await store.load(), []);
  await store.save([{ app: parseAppDefinition({ id: 'web', cmd: 'x', instances: 2 }), version: 'v1' }]);
  const [back] = await store.load();
  assert.is(back?.app.id, '/web');
  assert.is(back?.app.instances, 2);
  assert.is(back?.version, 'v1');
  assert.equal(readdirSync(join(file, '..')), ['apps.json'], 'no temp file left');
});

test('a hand-edited file with an invalid app is refused with the file named, not half loaded', async () => {
  const file = join(dir(), 'apps.json');
  writeFileSync(
    file,
    JSON.stringify([
      { app: { id: '/ok', cmd: 'x' }, version: 'v' },
      { app: { id: '/Bad_Id', cmd: 'x' }, version: 'v' },
    ]),
  );
  try {
    await createFileAppStore(file).load();
    assert.unreachable('loaded');
  } catch (err) {
    assert.ok(isSipError(err, 'SIP_STATE_INVALID'));
    assert.match((err as Error).message, file);
  }
  writeFileSync(file, '{not json');
  try {
    await createFileAppStore(file).load();
    assert.unreachable('loaded');
  } catch (err) {
    assert.ok(isSipError(err, 'SIP_STATE_INVALID'));
  }
  assert.ok(readFileSync(file, 'utf8').startsWith('{not'), 'the file is left for the operator');
});

test.run();
