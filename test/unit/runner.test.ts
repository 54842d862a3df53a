import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runFile } from '../src/runner/runFile.js';

// The runner's own promises: a broken hook is a visible failure, and a check
// that could not run is counted as skipped, never as passed.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const UVU = join(ROOT, 'node_modules/uvu/dist/index.mjs');

function testFile(body: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sip-runner-')), 'x.test.mjs');
  writeFileSync(file, `import { suite } from ${JSON.stringify(UVU)};\nconst s = suite('probe');\n${body}\ns.run();\n`);
  return file;
}

test('an error in a before hook fails the file and its cause is printed', async () => {
  let out = '';
  const r = await runFile(testFile("s.before(async () => { throw new Error('boom: the fixture could not start'); });\ns('a', () => {});\ns('b', () => {});"), {
    cwd: ROOT,
    label: 'x',
    out: (d) => (out += d.toString()),
  });
  assert.is(r.passed, 0);
  assert.ok(r.failed >= 1, `failed ${r.failed}`);
  assert.match(out, 'before hook in suite "probe" threw: Error: boom: the fixture could not start');
});

test('an error in an after hook fails the file too', async () => {
  let out = '';
  const r = await runFile(testFile("s.after(() => { throw new Error('teardown broke'); });\ns('a', () => {});"), {
    cwd: ROOT,
    label: 'x',
    out: (d) => (out += d.toString()),
  });
  assert.ok(r.failed >= 1);
  assert.match(out, 'teardown broke');
});

test('a test that prints NOT CHECKED counts as skipped, not passed', async () => {
  const r = await runFile(testFile("s('denial', () => { process.stdout.write('\\n  NOT CHECKED (stock moto): the denial\\n'); });\ns('other', () => {});"), {
    cwd: ROOT,
    label: 'x',
  });
  assert.equal([r.passed, r.failed, r.skipped], [1, 0, 1]);
});

test.run();
