import { spawnSync } from 'node:child_process';
import { openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stdoutDestination } from '../src/log/stdoutDestination.js';

// A full disk under binapp's stdout (its Mesos sandbox) costs log lines, never binapp.

test('lines that cannot be written are dropped, then counted in the next line that can', () => {
  const out: string[] = [];
  let full = false;
  const dest = stdoutDestination((d) => {
    if (full) throw Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
    out.push(d);
  });
  dest.write('a\n');
  full = true;
  dest.write('b\n');
  dest.write('c\n');
  full = false;
  dest.write('d\n');
  assert.equal(out.slice(-1), ['d\n']);
  assert.match(out[1]!, '"dropped":2');
  assert.is(out.length, 3);
});

test('a process logging through it to a full device (/dev/full) keeps running and exits normally', () => {
  const mod = fileURLToPath(new URL('../src/log/stdoutDestination.ts', import.meta.url));
  const script = `import { stdoutDestination } from ${JSON.stringify(mod)}; const d = stdoutDestination(); for (let i = 0; i < 100; i++) d.write('x\\n'); process.stderr.write('alive');`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', openSync('/dev/full', 'w'), 'pipe'],
    timeout: 20_000,
    encoding: 'utf8',
  });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, 'alive');
});

test.run();
