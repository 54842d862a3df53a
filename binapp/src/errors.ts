/**
 * Errors binapp answers with. `status` and `expose` follow koa's convention;
 * `code` is stable for clients and tests. Messages never carry a credential,
 * an external id or a request body.
 */
export class BinappError extends Error {
  readonly code: string;
  readonly status: number;
  readonly expose = true;
  /** The AWS step that failed (`sts:AssumeRole`, `s3:PutObject`, …), for upstream errors. */
  readonly step: string | undefined;

  constructor(code: string, status: number, message: string, options: { step?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BinappError';
    this.code = code;
    this.status = status;
    this.step = options.step;
  }
}

/** Configuration that cannot be used; lists every problem, never a value. */
export class BinappConfigError extends Error {
  readonly code = 'BINAPP_CONFIG_INVALID';
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid binapp configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'BinappConfigError';
    this.problems = problems;
  }
}
