import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTerraform } from '@secure-instance-profiles/framework-plugin/local/terraform';
import type { FileResult } from './summary.js';

/** A static check that counts as one test in the summary. */
export interface Check {
  name: string;
  run(root: string): Promise<void>;
}

function exec(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
}

/** The project's static checks: TypeScript types, formatting, lint, and Terraform formatting/validity. */
export const CHECKS: readonly Check[] = [
  {
    name: 'typecheck (tsc --noEmit)',
    run: (root) => exec(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', 'tsconfig.json'], root),
  },
  // One style (Prettier) and a type-aware lint (floating and misused promises, exhaustive switches).
  {
    name: 'format (prettier --check)',
    run: (root) => exec(process.execPath, [join(root, 'node_modules/prettier/bin/prettier.cjs'), '--check', '--log-level', 'warn', '.'], root),
  },
  {
    name: 'lint (eslint, type-aware)',
    run: (root) => exec(process.execPath, [join(root, 'node_modules/eslint/bin/eslint.js'), '--max-warnings', '0', '.'], root),
  },
  {
    name: 'terraform fmt -check and validate (root and modules)',
    async run(root) {
      const work = await mkdtemp(join(tmpdir(), 'sip-tf-validate-'));
      try {
        for (const dir of ['terraform', 'terraform/modules/app-role', 'terraform/modules/agent-profile']) {
          const tf = createTerraform({
            configDir: join(root, dir),
            workDir: join(work, dir.replace(/\//g, '_')),
            ...(dir === 'terraform' ? { siblings: ['marathon'] } : {}),
          });
          if (dir === 'terraform') await tf.fmtCheck();
          await tf.init();
          await tf.validate();
        }
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
  },
];

/** Runs one check and reports it like a test file with one test. */
export async function runCheck(check: Check, root: string): Promise<FileResult> {
  const started = Date.now();
  try {
    await check.run(root);
    return { file: check.name, passed: 1, failed: 0, skipped: 0, ms: Date.now() - started };
  } catch (err) {
    process.stdout.write(`${(err as Error).message}\n`);
    return { file: check.name, passed: 0, failed: 1, skipped: 0, ms: Date.now() - started };
  }
}
