/** A request body over the size limit; `status` 413 for koa. */
export class BodyTooLargeError extends Error {
  readonly status = 413;
  readonly code = 'SIP_BODY_TOO_LARGE';
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
    if (size > maxBytes) throw new BodyTooLargeError(`request body exceeds ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
