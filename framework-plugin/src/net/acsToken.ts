import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * A check of DC/OS's `Authorization: token=<ACS token>` header against the
 * cluster's token, in constant time (both sides hashed first).
 * @returns a predicate over the raw header value.
 */
export function acsTokenCheck(token: string): (authorization: string | undefined) => boolean {
  const want = digest(token);
  return (authorization) => {
    const given = /^token=(.+)$/.exec(authorization ?? '')?.[1];
    return given !== undefined && timingSafeEqual(digest(given), want);
  };
}
