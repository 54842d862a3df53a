/** What a CLI command may touch: injected so commands run in tests without a process. */
export interface CliIo {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readFile: (path: string) => Promise<string>;
}

/** Exit codes shared by every `sip` command. */
export const ExitCode = {
  ok: 0,
  /** The operation failed: exists, not found, denied, unreachable (as `dcos` exits 1). */
  failed: 1,
  /** The command line is wrong. */
  usage: 2,
} as const;

/** A command-line mistake; printed with the usage text, exit code 2. */
export class UsageError extends Error {
  readonly code = 'SIP_USAGE';
}

/** Reads all of stdin as UTF-8. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
