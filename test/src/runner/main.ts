import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runFile } from './runFile.js';
import type { FileResult } from './summary.js';

// Runs every uvu test file in its own Node process (tsx loader), streams its
// output, and ends with the one summary line CI reads: "N passed, N failed".
// The build (framework-plugin compiled, binapp bundled) runs before anything,
// so every suite tests what ships; static checks (types, Terraform) then run
// and count as one test each.
// Usage: tsx test/src/runner/main.ts [--only checks|unit|integration|e2e] [substring…] (files matching any substring)

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SUITES = {
  checks: [],
  unit: ['framework-plugin/test', 'binapp/test', 'test/unit'],
  integration: ['test/integration'],
  e2e: ['test/e2e'],
} as const;

async function findTests(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) found.push(...(await findTests(full)));
    else if (e.name.endsWith('.test.ts')) found.push(full);
  }
  return found.sort();
}

const args = process.argv.slice(2);
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? (args.splice(onlyIdx, 2)[1] as keyof typeof SUITES | undefined) : undefined;
const dirs = only ? SUITES[only] : [...SUITES.unit, ...SUITES.integration, ...SUITES.e2e];
if (!dirs) {
  process.stderr.write(`unknown suite ${only}; use --only checks, unit, integration or e2e\n`);
  process.exit(2);
}
const files = (await Promise.all(dirs.map((d) => findTests(join(ROOT, d))))).flat().filter((f) => args.length === 0 || args.some((a) => f.includes(a)));
const results: FileResult[] = [];
process.stdout.write('\n# build (npm run build)\n');
const build = await new Promise<number>((resolve) => {
  const child = spawn('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  child.once('error', () => resolve(1));
  child.once('close', (code) => resolve(code ?? 1));
});
results.push({ file: 'build (npm run build)', passed: build === 0 ? 1 : 0, failed: build === 0 ? 0 : 1, skipped: 0, ms: 0 });
if (build !== 0) {
  process.stdout.write('0 passed, 1 failed\n');
  process.exit(1);
}
// Imported after the build: they are the compiled packages.
const { CHECKS, runCheck } = await import('./checks.js');
const { emulatorConfig, localstackAvailability } = await import('@secure-instance-profiles/framework-plugin/local/emulator');
if ((!only || only === 'checks') && args.length === 0) {
  for (const check of CHECKS) {
    process.stdout.write(`\n# ${check.name}\n`);
    results.push(await runCheck(check, ROOT));
  }
}
// Which AWS the suites talk to, and whether LocalStack could be used: said, never assumed.
const emulator = emulatorConfig(process.env);
process.stdout.write(
  `\nemulator: ${emulator.kind === 'moto' ? 'the moto harness with IAM enforcement (default; SIP_EMULATOR=endpoint|localstack to change)' : emulator.kind === 'endpoint' ? `existing endpoint ${emulator.endpoint}` : `LocalStack (${emulator.localstackImage})`}\n`,
);
process.stdout.write(`${(await localstackAvailability(emulator.localstackImage)).note}\n`);
for (const file of files) {
  process.stdout.write(`\n# ${relative(ROOT, file)}\n`);
  results.push(await runFile(file, { cwd: ROOT, label: relative(ROOT, file), out: (d) => process.stdout.write(d), err: (d) => process.stderr.write(d) }));
}
let passed = 0;
let failed = 0;
let skipped = 0;
process.stdout.write('\n# results\n');
for (const r of results) {
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped;
  process.stdout.write(
    `${r.failed > 0 ? 'FAIL' : 'ok  '} ${r.file}: ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''} (${(r.ms / 1000).toFixed(1)} s)${r.note ? ` — ${r.note}` : ''}\n`,
  );
}
if (results.length === 0) failed++;
process.stdout.write(`${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(failed > 0 ? 1 : 0);
