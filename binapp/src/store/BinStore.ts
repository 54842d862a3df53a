import type { Readable } from 'node:stream';

/** A stored bin, as streamed back to the client. */
export interface StoredBin {
  readonly body: Readable;
  readonly contentType: string;
  readonly contentLength: number | undefined;
}

/**
 * Where bins live. binapp's routes depend on this port only; the S3 adapter
 * implements it for real and tests pass a fake.
 *
 * Failures are {@link StoreError}s that name the AWS step that failed.
 */
export interface BinStore {
  /**
   * Streams `body` to `key`. If `body` errors (too large, client gone) or the
   * store fails, no object and no upload parts are left behind.
   */
  put(key: string, body: Readable, contentType: string): Promise<void>;
  /** The object at `key`, or undefined when there is none. */
  get(key: string): Promise<StoredBin | undefined>;
  /** Resolves when the bucket is reachable with the app's credentials. */
  ping(): Promise<void>;
}

/** How a store step failed. */
export type StoreFailure = 'denied' | 'unavailable';

/**
 * A store failure that names the step (`sts:AssumeRole`, `s3:PutObject`, …)
 * and the AWS error code, and nothing else: no credential, no external id.
 */
export class StoreError extends Error {
  readonly step: string;
  readonly failure: StoreFailure;
  readonly awsCode: string;

  constructor(step: string, failure: StoreFailure, awsCode: string, options: { cause?: unknown } = {}) {
    super(`${step} ${failure === 'denied' ? 'was denied' : 'failed'} (${awsCode})`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreError';
    this.step = step;
    this.failure = failure;
    this.awsCode = awsCode;
  }
}
