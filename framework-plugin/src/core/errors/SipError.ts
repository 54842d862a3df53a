/**
 * Base of every error this project throws on purpose.
 *
 * `code` is stable (`SIP_*`), so callers and tests match on it instead of on
 * the message; `expose` says whether the message is safe to show a client
 * (koa's convention). Messages never carry a secret value.
 */
export class SipError extends Error {
  /** Stable machine-readable code, e.g. `SIP_EMULATOR_START_FAILED`. */
  readonly code: string;
  /** True when the message may be shown to an API client as-is. */
  readonly expose: boolean;

  constructor(code: string, message: string, options: { cause?: unknown; expose?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SipError';
    this.code = code;
    this.expose = options.expose ?? false;
  }
}

/** True when `err` is a {@link SipError}, optionally with the given code. */
export function isSipError(err: unknown, code?: string): err is SipError {
  return err instanceof SipError && (code === undefined || err.code === code);
}
