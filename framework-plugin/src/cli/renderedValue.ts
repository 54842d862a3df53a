import { SipError } from '../core/errors/SipError.js';
import type { SipErrorCode } from '../core/errors/catalogue.js';

/**
 * Refuses a value that is empty or that is Terraform's *rendering* of a
 * string rather than the string: `terraform output NAME` (without `-raw`)
 * prints `"…"` with escapes, or a `<<EOT … EOT` heredoc. Stored as is, the
 * quotes or heredoc markers would be part of the secret or definition. The
 * message names the fix; it never quotes the value.
 * @throws SipError with `code`
 */
export function refuseRenderedValue(text: string, what: string, output: string, code: SipErrorCode): void {
  const fix = `use the raw value: terraform -chdir=terraform output -raw ${output}`;
  if (text.trim() === '') throw new SipError(code, `${what} is empty: did the command before the pipe fail? (${fix})`);
  if (/^<<-?([A-Za-z_][A-Za-z0-9_]*)\r?\n[\s\S]*\r?\n\s*\1\s*$/.test(text.trim())) {
    throw new SipError(code, `${what} is Terraform's heredoc rendering of a string (<<EOT … EOT), not the string; ${fix}`);
  }
  if (/^"(?:[^"\\]|\\.)*"$/s.test(text.trim()))
    throw new SipError(code, `${what} is Terraform's quoted rendering of a string ("…" with escapes), not the string; ${fix}`);
}
