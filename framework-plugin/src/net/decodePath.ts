import { SipError } from '../core/errors/SipError.js';

/**
 * `decodeURIComponent` for a request path: malformed percent-encoding
 * (`%zz`, a lone `%`) is the client's mistake, a 400, not a server error.
 * @throws SipError `SIP_BAD_REQUEST`
 */
export function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new SipError('SIP_BAD_REQUEST', 'the request path has malformed percent-encoding');
  }
}
