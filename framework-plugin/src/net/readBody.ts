import { SipError } from '../core/errors/SipError.js';

/** A request body over the size limit (`SIP_BODY_TOO_LARGE`, 413). */
export class BodyTooLargeError extends SipError {
  constructor(maxBytes: number) {
    super('SIP_BODY_TOO_LARGE', `request body exceeds ${maxBytes} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a request body as UTF-8, stopping as soon as it passes `maxBytes`.
 * @throws BodyTooLargeError
 */
export async function readBody(req: NodeJS.ReadableStream, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new BodyTooLargeError(maxBytes);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
