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
 * An app definition Marathon would refuse. `status` 422 ("Object is not
 * valid") or 400 ("Invalid JSON"); `body` is exactly what the API answers.
 */
export class MarathonValidationError extends Error {
  readonly code = 'SIP_MARATHON_INVALID_APP';
  readonly status: 400 | 422;
  readonly body: MarathonErrorBody;

  constructor(status: 400 | 422, details: readonly ValidationDetail[]) {
    const message = status === 422 ? 'Object is not valid' : 'Invalid JSON';
    super(`${message}: ${details.map((d) => `${d.path}: ${d.errors.join('; ')}`).join(', ')}`);
    this.name = 'MarathonValidationError';
    this.status = status;
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
