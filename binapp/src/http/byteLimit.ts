import { Transform, type TransformCallback } from 'node:stream';
import { BinappError } from '../errors.js';

/** An error of the request body itself (not of the store); see `isBodyError` in the store. */
export class BodyError extends BinappError {
  readonly bodyError = true;
}

/** The byte counter of a limited body. */
export interface ByteLimit extends Transform {
  /** Bytes that passed so far. */
  readonly bytes: number;
}

/**
 * A pass-through that fails with 413 `BINAPP_PAYLOAD_TOO_LARGE` as soon as more
 * than `maxBytes` went through, so an oversized upload stops mid-stream and
 * the store discards it.
 */
export function byteLimit(maxBytes: number): ByteLimit {
  let bytes = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        cb(new BodyError('BINAPP_PAYLOAD_TOO_LARGE', 413, `body exceeds the limit of ${maxBytes} bytes`));
        return;
      }
      cb(null, chunk);
    },
  });
  return Object.defineProperty(t, 'bytes', { get: () => bytes }) as ByteLimit;
}
