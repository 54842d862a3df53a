/** One test file's outcome. */
export interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  ms: number;
  /** Why the counts were inferred (crash, no summary). */
  note?: string;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/**
 * Reads uvu's closing summary ("Total: N", "Passed: N", "Skipped: N") from a
 * file's output. A process that exits non-zero always counts at least one
 * failure, so a crash before or after the summary is never green.
 */
export function parseUvuSummary(file: string, output: string, exitCode: number, ms: number): FileResult {
  const text = output.replace(ANSI, '');
  const num = (label: string): number | undefined => {
    const all = [...text.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)\\s*$`, 'gm'))];
    return all.length ? all.reduce((sum, m) => sum + Number(m[1]), 0) : undefined;
  };
  const total = num('Total');
  // A test that could not check what it claims (e.g. IAM not enforced by the
  // emulator) prints "NOT CHECKED (…)" and returns: it is skipped, not passed.
  const notChecked = [...text.matchAll(/^\s*NOT CHECKED\b/gm)].length;
  const passed = Math.max(0, (num('Passed') ?? 0) - notChecked);
  const skipped = (num('Skipped') ?? 0) + notChecked;
  if (total === undefined) return { file, passed: 0, failed: 1, skipped: 0, ms, note: `no uvu summary (exit ${exitCode})` };
  let failed = Math.max(0, total - passed - skipped);
  let note: string | undefined;
  if (exitCode !== 0 && failed === 0) {
    failed = 1;
    note = `exited ${exitCode} after its tests`;
  }
  return { file, passed, failed, skipped, ms, ...(note ? { note } : {}) };
}
