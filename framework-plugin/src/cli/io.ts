import { exitCodeOf, type SipErrorCode } from '../core/errors/catalogue.js';
import { SipError } from '../core/errors/SipError.js';

/** What a CLI command may touch: injected so commands run in tests without a process. */
export interface CliIo {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readFile: (path: string) => Promise<string>;
}

/**
 * Exit codes of `sip` outside the error catalogue (which gives each error
 * code its own: 3 invalid, 4 exists, 5 not found, 6 deployment failed).
 */
export const ExitCode = {
  ok: 0,
  /** An unexpected failure (not a catalogued error). */
  failed: 1,
  /** The command line is wrong. */
  usage: exitCodeOf('SIP_USAGE'),
} as const;

/** A command-line mistake (`SIP_USAGE`); printed with the usage text, exit code 2. */
export class UsageError extends SipError {
  constructor(message: string) {
    super('SIP_USAGE', message);
    this.name = 'UsageError';
  }
}

/**
 * A command's document: the file `arg` names, or stdin when it is absent or
 * `-` (a terminal on stdin is a usage error, not a hang).
 * @throws UsageError with `ttyHint`; SipError `unreadable` when the file cannot be read
 */
export async function readInput(arg: string | undefined, io: CliIo, ttyHint: string, unreadable: SipErrorCode): Promise<string> {
  if (!arg || arg === '-') {
    if (io.stdin.isTTY) throw new UsageError(ttyHint);
    return readAll(io.stdin);
  }
  try {
    return await io.readFile(arg);
  } catch (err) {
    throw new SipError(unreadable, `cannot read ${arg}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { expose: true });
  }
}

/** Reads all of stdin as UTF-8. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
