import { SipError } from '../errors/SipError.js';

/** One entry of Marathon's 422 body: a JSON-pointer-ish path and its errors. */
export interface ValidationDetail {
  readonly path: string;
  readonly errors: readonly string[];
}

/** Marathon's error body: `{"message", "details"?}`. */
export interface MarathonErrorBody {
  readonly message: string;
  readonly details?: readonly ValidationDetail[];
}

/**
 * An app definition Marathon would refuse (`SIP_MARATHON_INVALID_APP`).
 * `status` 422 ("Object is not valid") or 400 ("Invalid JSON"); `body` is
 * exactly what the API answers.
 */
export class MarathonValidationError extends SipError {
  declare readonly status: 400 | 422;
  readonly body: MarathonErrorBody;

  constructor(status: 400 | 422, details: readonly ValidationDetail[]) {
    const message = status === 422 ? 'Object is not valid' : 'Invalid JSON';
    super('SIP_MARATHON_INVALID_APP', `${message}: ${details.map((d) => `${d.path}: ${d.errors.join('; ')}`).join(', ')}`, { status });
    this.name = 'MarathonValidationError';
    this.body = { message, details };
  }
}

/** Collects problems by path, merging errors on the same path. */
export class DetailCollector {
  private readonly byPath = new Map<string, string[]>();

  add(path: string, error: string): void {
    const list = this.byPath.get(path) ?? [];
    if (!list.includes(error)) list.push(error);
    this.byPath.set(path, list);
  }

  get size(): number {
    return this.byPath.size;
  }

  details(): ValidationDetail[] {
    return [...this.byPath].map(([path, errors]) => ({ path, errors }));
  }
}
