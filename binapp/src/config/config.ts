import { z } from 'zod';
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
}

/** Reads a file's text; injected so tests need no disk. */
export type ReadTextFile = (path: string) => string;

const BUCKET = /^(?!xn--)(?!.*-s3alias$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX = /^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/;
const MAX_OBJECT = 5 * 1024 ** 4; // S3's object size limit
const STATIC_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;

const intIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: `expected an integer from ${min} to ${max}` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: `expected an integer from ${min} to ${max}` });

const schema = z.object({
  BINAPP_BUCKET: z.string({ message: 'required: the S3 bucket to store bins in' }).regex(BUCKET, {
    message: 'not a valid S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)',
  }),
  BINAPP_USER: z.string({ message: 'required: the basic-auth user name' }).min(1, { message: 'must not be empty' }),
  BINAPP_PASS: z.string().min(1, { message: 'must not be empty' }).optional(),
  BINAPP_PASS_FILE: z.string().min(1, { message: 'must not be empty' }).optional(),
  BINAPP_PREFIX: z.string().regex(PREFIX, { message: "a key prefix without leading or trailing '/', e.g. bin" }).default('bin'),
  BINAPP_HOST: z.string().min(1).optional(),
  HOST: z.string().optional(),
  PORT0: intIn(0, 65535).optional(),
  PORT: intIn(0, 65535).optional(),
  BINAPP_MAX_BYTES: intIn(1, MAX_OBJECT).default(1024 ** 3),
  BINAPP_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BINAPP_SHUTDOWN_TIMEOUT_MS: intIn(0, 600_000).default(25_000),
  BINAPP_BODY_IDLE_TIMEOUT_MS: intIn(1, 600_000).default(30_000),
  BINAPP_HEADERS_TIMEOUT_MS: intIn(1, 600_000).default(20_000),
  BINAPP_REQUEST_TIMEOUT_MS: intIn(1, 86_400_000).default(3_600_000),
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
  });
}
