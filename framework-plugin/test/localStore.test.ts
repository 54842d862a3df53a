import { chmodSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLocalStore } from '../src/stores/localStore.js';
import type { SecretStore } from '../src/core/secrets/SecretStore.js';

const VALUE = '[default]\nrole_arn = arn:aws:iam::123456789012:role/app\nexternal_id = Very-Secret-External-Id-42\n';
let dir: string;
let store: SecretStore;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'sip-store-'));
  store = createLocalStore({ dir });
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { code?: string };
    assert.ok(!e.message.includes('Very-Secret'), `an error message carried the value: ${e.code}`);
    return e.code ?? 'no code';
  }
  return 'resolved';
}
const dataFiles = (): string[] => readdirSync(join(dir, 'data')).filter((n) => n.endsWith('.secret'));

test('create, get, list, update, delete; leading slashes do not matter', async () => {
  await store.create('/instance-profile-app/aws-config', VALUE);
  assert.is(await store.get('instance-profile-app/aws-config'), VALUE);
  await store.create('other/x', 'v');
  await store.create('top', 't');
  assert.equal(await store.list(''), ['instance-profile-app/aws-config', 'other/x', 'top']);
  assert.equal(await store.list('/instance-profile-app'), ['aws-config']);
  await store.update('instance-profile-app/aws-config', 'new value');
  assert.is(await store.get('/instance-profile-app/aws-config'), 'new value');
  await store.delete('other/x');
  assert.equal(await store.list(''), ['instance-profile-app/aws-config', 'top']);
});

test('typed errors: exists, not found, bad path, too large — and nothing changes', async () => {
  await store.create('a/b', VALUE);
  assert.is(await codeOf(store.create('a/b', 'other')), 'SIP_SECRET_EXISTS');
  assert.is(await store.get('a/b'), VALUE);
  assert.is(await codeOf(store.get('a/missing')), 'SIP_SECRET_NOT_FOUND');
  assert.is(await codeOf(store.update('a/missing', 'x')), 'SIP_SECRET_NOT_FOUND');
  assert.is(await codeOf(store.delete('a/missing')), 'SIP_SECRET_NOT_FOUND');
  for (const bad of ['', '/', 'a/../b', 'a/.hidden', 'a b', `${'x'.repeat(200)}`])
    assert.is(await codeOf(store.create(bad, 'x')), 'SIP_SECRET_PATH_INVALID', bad);
  assert.is(await codeOf(store.create('big', 'x'.repeat(1024 * 1024 + 1))), 'SIP_SECRET_TOO_LARGE');
  assert.is(await codeOf(store.update('a/b', `Very-Secret${'x'.repeat(1024 * 1024)}`)), 'SIP_SECRET_TOO_LARGE');
  assert.is(await store.get('a/b'), VALUE);
  await store.create('exactly-1mib', 'x'.repeat(1024 * 1024));
  assert.equal(await store.list(''), ['a/b', 'exactly-1mib']);
});

test('encrypted at rest under a 0600 key file', async () => {
  await store.create('app/aws-config', VALUE);
  assert.is(statSync(join(dir, 'store.key')).mode & 0o777, 0o600);
  const raw = readFileSync(join(dir, 'data', dataFiles()[0] ?? ''));
  assert.ok(!raw.includes('Very-Secret'), 'plaintext on disk');
  assert.ok(!raw.includes('role_arn'), 'plaintext on disk');
});

test('a modified file, a wrong key, or a file moved to another path → SIP_SECRET_TAMPERED', async () => {
  await store.create('app/one', VALUE);
  await store.create('app/two', 'two');
  const [fileOne] = dataFiles().filter((f) => Buffer.from(f.replace('.secret', ''), 'base64url').toString() === 'app/one');
  const path = join(dir, 'data', fileOne ?? '');
  const bytes = readFileSync(path);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
  writeFileSync(path, bytes);
  assert.is(await codeOf(store.get('app/one')), 'SIP_SECRET_TAMPERED');

  const other = createLocalStore({ dir, keyFile: join(mkdtempSync(join(tmpdir(), 'sip-key-')), 'k') });
  assert.is(await codeOf(other.get('app/two')), 'SIP_SECRET_TAMPERED');

  renameSync(join(dir, 'data', `${Buffer.from('app/two').toString('base64url')}.secret`), path);
  assert.is(await codeOf(store.get('app/one')), 'SIP_SECRET_TAMPERED', 'a file swapped in from another path');
});

test('a key file readable by others is refused with the fix', async () => {
  await store.create('x', 'y');
  chmodSync(join(dir, 'store.key'), 0o644);
  const again = createLocalStore({ dir });
  assert.is(await codeOf(again.get('x')), 'SIP_SECRET_KEY_INSECURE');
});

test('concurrent writers: one create wins, updates never tear', async () => {
  const other = createLocalStore({ dir }); // a second handle, as a second process would have
  const creates = await Promise.all(Array.from({ length: 20 }, (_, i) => codeOf((i % 2 ? other : store).create('race/x', `v${i}`))));
  assert.is(creates.filter((c) => c === 'resolved').length, 1);
  assert.is(creates.filter((c) => c === 'SIP_SECRET_EXISTS').length, 19);
  const values = Array.from({ length: 30 }, (_, i) => `value-${i}-${'z'.repeat(i * 1000)}`);
  await Promise.all(values.map((v, i) => (i % 2 ? other : store).update('race/x', v)));
  assert.ok(values.includes(await store.get('race/x')));
  assert.equal(
    readdirSync(join(dir, 'data')).filter((n) => n.startsWith('.tmp')),
    [],
    'no temp file left behind',
  );
});

test.run();
