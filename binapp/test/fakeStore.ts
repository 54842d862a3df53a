import { Readable } from 'node:stream';
import { StoreError, type BinStore, type StoredBin } from '../src/store/BinStore.js';

/** An in-memory BinStore that records what happened and can be told to fail. */
export interface FakeStore extends BinStore {
  readonly objects: Map<string, { bytes: Buffer; contentType: string }>;
  /** Bytes received by put() calls that did not complete (must never be stored). */
  readonly discarded: number[];
  /** Makes every following call fail with this error. */
  failWith(err: StoreError | undefined): void;
}

/** Creates a {@link FakeStore}. It consumes bodies as S3 would, chunk by chunk. */
export function createFakeStore(): FakeStore {
  const objects = new Map<string, { bytes: Buffer; contentType: string }>();
  const discarded: number[] = [];
  let failure: StoreError | undefined;
  return {
    objects,
    discarded,
    failWith(err) {
      failure = err;
    },
    async put(key, body, contentType) {
      if (failure) {
        body.destroy();
        throw failure;
      }
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of body) chunks.push(chunk as Buffer);
      } catch (err) {
        discarded.push(chunks.reduce((n, c) => n + c.length, 0));
        throw err;
      }
      objects.set(key, { bytes: Buffer.concat(chunks), contentType });
    },
    async get(key): Promise<StoredBin | undefined> {
      if (failure) throw failure;
      const o = objects.get(key);
      return o ? { body: Readable.from([o.bytes]), contentType: o.contentType, contentLength: o.bytes.length } : undefined;
    },
    async ping() {
      if (failure) throw failure;
    },
  };
}

/** The failures binapp must tell apart. */
export const failures = {
  assumeRoleDenied: () => new StoreError('sts:AssumeRole', 'denied', 'AccessDenied'),
  putDenied: () => new StoreError('s3:PutObject', 'denied', 'AccessDenied'),
  s3Down: () => new StoreError('s3:PutObject', 'unavailable', 'InternalError'),
};
