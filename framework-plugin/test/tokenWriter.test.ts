import { chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { taskToken } from '../src/delivery/endpoint/taskToken.js';
import { createTokenWriter, TASK_TOKEN_FILE, writeIntoSandbox } from '../src/delivery/endpoint/tokenWriter.js';

// sip agent writes each Marathon task's token into its sandbox (issue #22 §4),
// as root, into a directory the task's user owns: never through what the task
// planted there.

const logger = pino({ level: 'silent' });
const key = Buffer.alloc(32, 7);
const root = mkdtempSync(join(tmpdir(), 'sip-token-writer-'));
const TASK = 'team_web.instance-3f2a9c1e-aaaa-bbbb-cccc-000000000000._app.1';

test('a new Marathon task gets its token (0400, owned by the sandbox owner), once; gone tasks are forgotten; other executors get none', async () => {
  const sandbox = join(root, 'runs-c1');
  mkdirSync(sandbox, { mode: 0o700 });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(sandbox, 2000123, 2000123);
  let asked = 0;
  const writer = createTokenWriter({
    key,
    logger,
    sandboxes: async () => {
      asked++;
      return new Map([
        ['c1', sandbox],
        ['c2', join(root, 'runs-c2')],
      ]);
    },
  });
  await writer.sync([
    { containerId: 'c1', executorId: TASK, frameworkId: 'marathon-fw' },
    { containerId: 'c2', executorId: 'not-a-marathon-task', frameworkId: 'other-fw' },
  ]);
  const file = join(sandbox, TASK_TOKEN_FILE);
  assert.is(readFileSync(file, 'utf8'), taskToken(key, TASK));
  const st = lstatSync(file);
  assert.ok(st.isFile());
  assert.is(st.mode & 0o777, 0o400);
  if (asRoot) assert.is(st.uid, 2000123, "the task's user reads it");
  assert.equal(readdirSync(sandbox), [TASK_TOKEN_FILE], 'no temp file left');
  await writer.sync([{ containerId: 'c1', executorId: TASK, frameworkId: 'marathon-fw' }]);
  assert.is(asked, 1, 'a task already written costs no call to the Mesos agent');
  // The task's container went away and came back (a new run): written again.
  await writer.sync([]);
  rmSync(file);
  await writer.sync([{ containerId: 'c1', executorId: TASK, frameworkId: 'marathon-fw' }]);
  assert.ok(lstatSync(file).isFile());
});

test("a symlink the task planted at the token's name is replaced, its target untouched; a sandbox that is a symlink is refused", async () => {
  const sandbox = join(root, 'runs-planted');
  mkdirSync(sandbox, { mode: 0o700 });
  const target = join(root, 'root-owned-file');
  writeFileSync(target, 'precious');
  symlinkSync(target, join(sandbox, TASK_TOKEN_FILE));
  await writeIntoSandbox(sandbox, TASK_TOKEN_FILE, 'token-1');
  assert.is(readFileSync(target, 'utf8'), 'precious', 'the target is untouched');
  assert.ok(lstatSync(join(sandbox, TASK_TOKEN_FILE)).isFile(), 'the symlink itself was replaced');
  const linked = join(root, 'runs-link');
  symlinkSync(join(root, 'elsewhere'), linked);
  mkdirSync(join(root, 'elsewhere'));
  const err = await writeIntoSandbox(linked, TASK_TOKEN_FILE, 'token-2').catch((e: Error) => e);
  assert.match(String(err), 'is not a directory');
  assert.equal(readdirSync(join(root, 'elsewhere')), [], 'nothing written through it');
  const relative = await writeIntoSandbox('runs/../../etc', TASK_TOKEN_FILE, 'x').catch((e: Error) => e);
  assert.match(String(relative), 'not a plain absolute path');
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
