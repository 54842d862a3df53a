import { SipError } from '../errors/SipError.js';

/** Stable codes of secret-store failures. */
export const SecretErrorCode = {
  notFound: 'SIP_SECRET_NOT_FOUND',
  exists: 'SIP_SECRET_EXISTS',
  invalidPath: 'SIP_SECRET_PATH_INVALID',
  tooLarge: 'SIP_SECRET_TOO_LARGE',
  tampered: 'SIP_SECRET_TAMPERED',
  keyInsecure: 'SIP_SECRET_KEY_INSECURE',
  unauthorized: 'SIP_SECRET_UNAUTHORIZED',
  unavailable: 'SIP_SECRET_STORE_UNAVAILABLE',
  invalidValue: 'SIP_SECRET_VALUE_INVALID',
} as const;

/** A secret-store failure. Messages name the path, never the value. */
export class SecretStoreError extends SipError {
  constructor(code: (typeof SecretErrorCode)[keyof typeof SecretErrorCode], message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, expose: true });
    this.name = 'SecretStoreError';
  }
}
