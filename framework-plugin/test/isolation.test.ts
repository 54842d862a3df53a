import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appIdentity, FIRST_APP_UID } from '../src/local/launcher/identity.js';
import { detectIsolation, taskPath } from '../src/local/launcher/isolation.js';

const open = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'sip-iso-'));
  chmodSync(d, 0o711);
  return d;
};

test('isolation needs root: otherwise it is off, with the reason, and insecure only when asked', () => {
  const r = detectIsolation({ sandboxRoot: open(), tools: ['/usr/bin'] }, false, false);
  assert.equal(r, { enabled: false, reason: 'the cluster is not running as root, so it cannot start tasks under their own users', insecure: false });
  assert.is((detectIsolation({ sandboxRoot: open(), tools: [] }, true, false) as { insecure: boolean }).insecure, true);
  assert.equal(detectIsolation({ sandboxRoot: open(), tools: ['/usr/bin'] }, false, true), { enabled: true });
});

test('a directory tasks cannot enter turns isolation off and is named, with its mode', () => {
  const closed = mkdtempSync(join(tmpdir(), 'sip-iso-closed-'));
  chmodSync(closed, 0o700);
  mkdirSync(join(closed, 'node_modules'));
  const r = detectIsolation({ sandboxRoot: open(), tools: [join(closed, 'node_modules')] }, false, true);
  assert.is(r.enabled, false);
  assert.match((r as { reason: string }).reason, `${closed} is mode 0700`);
});

test('the tasks’ PATH keeps what they can enter, drops the rest (and says so), ignores what does not exist', () => {
  const closed = mkdtempSync(join(tmpdir(), 'sip-iso-closed-'));
  chmodSync(closed, 0o700);
  mkdirSync(join(closed, 'bin'));
  const r = taskPath(['/usr/bin', join(closed, 'bin'), '/nonexistent/bin', '/bin'].join(':'));
  assert.equal(r, { path: '/usr/bin:/bin', dropped: [join(closed, 'bin')] });
});

test('one user per app: stable for the id, never shared, the persisted one kept when free', () => {
  const a = appIdentity('/a', new Set());
  assert.equal(appIdentity('/a', new Set()), a, 'the same id gets the same user');
  assert.ok(a.uid >= FIRST_APP_UID);
  const b = appIdentity('/b', new Set([a.uid]));
  assert.is.not(b.uid, a.uid);
  const clash = appIdentity('/a', new Set([a.uid]));
  assert.is.not(clash.uid, a.uid, 'a taken uid is never handed out twice');
  assert.is(appIdentity('/c', new Set(), FIRST_APP_UID + 42).uid, FIRST_APP_UID + 42);
  assert.is.not(appIdentity('/c', new Set([FIRST_APP_UID + 42]), FIRST_APP_UID + 42).uid, FIRST_APP_UID + 42);
});

test.run();
