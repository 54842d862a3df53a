import { appendFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { exitCodeOf, isSipError, type SipError } from '@secure-instance-profiles/framework-plugin';

/** The first {@link SipError} in `err`'s cause chain (a demo step wraps the error it failed with). */
function sipErrorIn(err: unknown): SipError | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) if (isSipError(e)) return e;
  return undefined;
}

/**
 * How an npm script (`npm run demo`, `npm run bench`) ends on an error a user
 * can cause: one line, the catalogue's message and code, and where the
 * detail (stack, causes) was written; never a raw stack trace. Returns the
 * exit code to end with (the catalogue's for a {@link SipError}, else 1).
 */
export function reportFailure(script: string, err: unknown, logFile: string, out: NodeJS.WritableStream = process.stderr): number {
  let logged = true;
  try {
    appendFileSync(logFile, `${new Date().toISOString()} ${script} failed:\n${inspect(err, { depth: 8 })}\n`, { mode: 0o600 });
  } catch {
    logged = false;
  }
  const sip = sipErrorIn(err);
  const first = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
  const line = sip ? `${first(sip)} (${sip.code})` : first(err);
  out.write(`\n${script} failed: ${line}\n${logged ? `  details: ${logFile}\n` : ''}`);
  return sip ? exitCodeOf(sip.code) : 1;
}
