import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runProcess, type Ran } from '../src/fixtures/process.js';
import type { SoakReport } from '../soak/types.js';

// The soak as CI runs it (issue #25): `npm run soak -- --minutes 2` on a
// local cluster under load while faults are injected; it exits 1 on any
// broken invariant, and its report must say what it measured. Two minutes
// fit fewer faults than the ten-minute run the README quotes: each kind in
// turn, as many as fit.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MINUTES = process.env.SOAK_CI_MINUTES ?? '2';
const test = suite('soak');
const out = mkdtempSync(join(tmpdir(), 'sip-soak-report-'));
let ran: Ran | undefined;

test.after(() => rmSync(out, { recursive: true, force: true }));

test(`a ${MINUTES}-minute soak keeps every invariant`, async () => {
  ran = await runProcess(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'test/soak/main.ts', '--minutes', MINUTES, '--out', out], {
    cwd: ROOT,
    env: process.env,
  });
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8').toString()) as SoakReport;
  assert.equal(report.violations, [], `violations:\n${report.violations.join('\n')}\n${(ran.out + ran.err).slice(-4000)}`);
  assert.is(ran.code, 0, (ran.out + ran.err).slice(-4000));
  // What it proves, not only that it ran: uploads acknowledged and read back, faults injected and recovered, credentials served.
  assert.ok(report.uploads.acknowledged > 20, `only ${report.uploads.acknowledged} uploads acknowledged`);
  assert.is(report.uploads.verified, report.uploads.acknowledged);
  const injected = Object.entries(report.faults).filter(([, f]) => f.count > 0);
  assert.ok(injected.length >= 3, `only ${injected.map(([k]) => k).join(', ')} injected`);
  for (const [kind, f] of injected) assert.ok(!f.recoveryMs.includes(null), `${kind} not recovered`);
  assert.ok((report.requests.credentials?.['200'] ?? 0) > 30, 'the probes got credentials');
  assert.match(readFileSync(join(out, 'report.md'), 'utf8'), '**PASS**');
  assert.match(readFileSync(join(out, 'report.svg'), 'utf8'), /^<svg/);
});

test.run();
