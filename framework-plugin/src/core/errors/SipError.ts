import { statusOf, type SipErrorCode } from './catalogue.js';

/**
 * Base of every error this project throws on purpose.
 *
 * `code` is stable (`SIP_*`, one of the {@link SipErrorCode}s of the
 * catalogue), so callers and tests match on it instead of on the message;
 * `status` is the catalogue's HTTP status; `expose` says whether the message
 * is safe to show a client (koa's convention): by default true for 4xx
 * codes, false for 5xx. Messages never carry a secret value.
 */
export class SipError extends Error {
  /** Stable machine-readable code, e.g. `SIP_EMULATOR_START_FAILED`. */
  readonly code: SipErrorCode;
  /** The HTTP status a server answers this error with: the catalogue's, unless the code allows another (`also`). */
  readonly status: number;
  /** True when the message may be shown to an API client as-is. */
  readonly expose: boolean;

  constructor(code: SipErrorCode, message: string, options: { cause?: unknown; expose?: boolean; status?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SipError';
    this.code = code;
    this.status = options.status ?? statusOf(code);
    this.expose = options.expose ?? this.status < 500;
  }
}

/** True when `err` is a {@link SipError}, optionally with the given code. */
export function isSipError(err: unknown, code?: SipErrorCode): err is SipError {
  return err instanceof SipError && (code === undefined || err.code === code);
}

/**
 * What an API may tell its client about `err`: the catalogue's status and
 * the message when the error is exposable, otherwise a generic text (koa's
 * `expose`); an unknown error is a 500.
 */
export function publicError(err: unknown): { status: number; code: SipErrorCode | undefined; message: string } {
  if (err instanceof SipError) return { status: err.status, code: err.code, message: err.expose ? err.message : 'internal error' };
  return { status: 500, code: undefined, message: 'internal error' };
}
