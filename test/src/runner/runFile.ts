import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseUvuSummary, type FileResult } from './summary.js';

const HOOK_ERRORS = fileURLToPath(new URL('./uvuHookErrors.mjs', import.meta.url));

/**
 * Runs one uvu test file in its own Node process (tsx loader, uvu hook
 * errors made visible), streams its output to `out`, and reads its summary.
 */
export function runFile(
  file: string,
  options: { cwd: string; label: string; out?: (chunk: Buffer) => void; err?: (chunk: Buffer) => void },
): Promise<FileResult> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', HOOK_ERRORS, file], {
      cwd: options.cwd,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      options.out?.(d);
    });
    child.stderr.on('data', (d: Buffer) => options.err?.(d));
    child.once('close', (code) => resolve(parseUvuSummary(options.label, text, code ?? 1, Date.now() - started)));
  });
}
