import { StoreError, type StoreFailure } from './BinStore.js';

const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidClientTokenId',
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'AllAccessDisabled',
  'Forbidden',
]);

/**
 * Turns whatever the SDK threw for `step` into a {@link StoreError}.
 *
 * Only the error's code is kept: AWS messages can quote request details, so
 * they stay in `cause` and are never shown to clients.
 */
export function classifyAwsError(step: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const e = (err ?? {}) as { name?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: number } };
  const code = typeof e.Code === 'string' ? e.Code : typeof e.name === 'string' ? e.name : 'UnknownError';
  const status = e.$metadata?.httpStatusCode;
  const failure: StoreFailure = DENIED.has(code) || status === 403 ? 'denied' : 'unavailable';
  return new StoreError(step, failure, code, { cause: err });
}
