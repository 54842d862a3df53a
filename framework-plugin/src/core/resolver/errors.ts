import { SipError } from '../errors/SipError.js';

/** Stable codes of resolve failures. */
export const ResolveErrorCode = {
  denied: 'SIP_SECRET_DENIED',
  missing: 'SIP_SECRET_UNAVAILABLE',
  invalidContent: 'SIP_SECRET_CONTENT_INVALID',
} as const;

/**
 * Why a task may not start with its secrets. `secret` and `path` say which;
 * the message explains, never including a value.
 */
export class ResolveError extends SipError {
  readonly secret: string | undefined;
  readonly path: string | undefined;

  constructor(
    code: (typeof ResolveErrorCode)[keyof typeof ResolveErrorCode],
    message: string,
    options: { secret?: string; path?: string; cause?: unknown } = {},
  ) {
    super(code, message, { cause: options.cause, expose: true });
    this.name = 'ResolveError';
    this.secret = options.secret;
    this.path = options.path;
  }
}
