// zod's functional build (zod/mini): the same checks at a fortieth of the code,
// which matters for binapp's start-up (npm run bench).
import * as z from 'zod/mini';
import { BinappConfigError } from '../errors.js';

/** binapp's validated, frozen configuration. */
export interface BinappConfig {
  readonly bucket: string;
  readonly user: string;
  readonly pass: string;
  /** Key prefix without slashes; objects go to `<prefix>/<id>`. */
  readonly prefix: string;
  readonly host: string;
  readonly port: number;
  readonly maxBytes: number;
  readonly logLevel: string;
  /** How long SIGTERM waits for in-flight requests before closing them. */
  readonly shutdownTimeoutMs: number;
  /** An upload whose body sends nothing for this long is ended with 408 and nothing stored. */
  readonly bodyIdleTimeoutMs: number;
  /** Time allowed for a request's headers. */
  readonly headersTimeoutMs: number;
  /** Time allowed for a whole request, body included (large uploads take long: generous). */
  readonly requestTimeoutMs: number;
  /** Multipart part size in bytes (S3's minimum is 5 MiB); memory stays near part size × (parallel parts + 1). */
  readonly partBytes: number;
  /** Parts uploaded in parallel. */
  readonly partsInFlight: number;
}

/** Reads a file's text; injected so tests need no disk. */
export type ReadTextFile = (path: string) => string;

const BUCKET = /^(?!xn--)(?!.*-s3alias$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX = /^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/;
const MAX_OBJECT = 5 * 1024 ** 4; // S3's object size limit
const STATIC_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;

const intIn = (min: number, max: number) => {
  const error = `expected an integer from ${min} to ${max}`;
  return z.pipe(
    z.string().check(z.regex(/^\d+$/, { error })),
    z.pipe(
      z.transform((s: string) => Number(s)),
      z.number().check(z.refine((n: number) => n >= min && n <= max, { error })),
    ),
  );
};
const text = (error: string) => z.string({ error });
const nonEmpty = () => z.string().check(z.minLength(1, { error: 'must not be empty' }));

const schema = z.object({
  BINAPP_BUCKET: text('required: the S3 bucket to store bins in').check(
    z.regex(BUCKET, { error: 'not a valid S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)' }),
  ),
  BINAPP_USER: text('required: the basic-auth user name').check(z.minLength(1, { error: 'must not be empty' })),
  BINAPP_PASS: z.optional(nonEmpty()),
  BINAPP_PASS_FILE: z.optional(nonEmpty()),
  BINAPP_PREFIX: z._default(z.string().check(z.regex(PREFIX, { error: "a key prefix without leading or trailing '/', e.g. bin" })), 'bin'),
  BINAPP_HOST: z.optional(nonEmpty()),
  HOST: z.optional(z.string()),
  PORT0: z.optional(intIn(0, 65535)),
  PORT: z.optional(intIn(0, 65535)),
  BINAPP_MAX_BYTES: z._default(intIn(1, MAX_OBJECT), 1024 ** 3),
  BINAPP_LOG_LEVEL: z._default(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  BINAPP_SHUTDOWN_TIMEOUT_MS: z._default(intIn(0, 600_000), 25_000),
  BINAPP_BODY_IDLE_TIMEOUT_MS: z._default(intIn(1, 600_000), 30_000),
  BINAPP_HEADERS_TIMEOUT_MS: z._default(intIn(1, 600_000), 20_000),
  BINAPP_REQUEST_TIMEOUT_MS: z._default(intIn(1, 86_400_000), 3_600_000),
  BINAPP_PART_MIB: z._default(intIn(5, 512), 5),
  BINAPP_PARTS_IN_FLIGHT: z._default(intIn(1, 16), 2),
});

/**
 * Parses binapp's environment once, at start-up, into a frozen config.
 *
 * `PORT0` (Marathon) wins over `PORT`; default 8000. Listens on
 * `BINAPP_HOST`, else the address Mesos gives the task (`HOST`: loopback on
 * the local cluster), else all interfaces. Exactly one of
 * `BINAPP_PASS` and `BINAPP_PASS_FILE`. Static AWS keys in the environment
 * are refused: credentials must come from the role in `AWS_CONFIG_FILE`.
 * @throws BinappConfigError listing every problem by variable name, never a value.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>, readTextFile: ReadTextFile): BinappConfig {
  const problems: string[] = [];
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
  }
  for (const key of STATIC_KEYS) {
    if (env[key]) problems.push(`${key}: static AWS keys are refused; binapp assumes its role from AWS_CONFIG_FILE (unset ${key})`);
  }
  const raw = parsed.success ? parsed.data : undefined;
  let pass: string | undefined;
  if (raw) {
    if (raw.BINAPP_PASS && raw.BINAPP_PASS_FILE) problems.push('BINAPP_PASS, BINAPP_PASS_FILE: set only one of them');
    else if (raw.BINAPP_PASS) pass = raw.BINAPP_PASS;
    else if (raw.BINAPP_PASS_FILE) {
      try {
        pass = readTextFile(raw.BINAPP_PASS_FILE).replace(/\r?\n$/, '');
        if (!pass) problems.push('BINAPP_PASS_FILE: the file is empty');
      } catch (err) {
        problems.push(`BINAPP_PASS_FILE: cannot read ${raw.BINAPP_PASS_FILE} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    } else problems.push('BINAPP_PASS or BINAPP_PASS_FILE: required, the basic-auth password');
  }
  if (problems.length > 0 || !raw || pass === undefined) throw new BinappConfigError(problems);
  return Object.freeze({
    bucket: raw.BINAPP_BUCKET,
    user: raw.BINAPP_USER,
    pass,
    prefix: raw.BINAPP_PREFIX,
    host: raw.BINAPP_HOST ?? (raw.HOST || '0.0.0.0'),
    port: raw.PORT0 ?? raw.PORT ?? 8000,
    maxBytes: raw.BINAPP_MAX_BYTES,
    logLevel: raw.BINAPP_LOG_LEVEL,
    shutdownTimeoutMs: raw.BINAPP_SHUTDOWN_TIMEOUT_MS,
    bodyIdleTimeoutMs: raw.BINAPP_BODY_IDLE_TIMEOUT_MS,
    headersTimeoutMs: raw.BINAPP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: raw.BINAPP_REQUEST_TIMEOUT_MS,
    partBytes: raw.BINAPP_PART_MIB * 1024 * 1024,
    partsInFlight: raw.BINAPP_PARTS_IN_FLIGHT,
  });
}
