import { SecretErrorCode, SecretStoreError } from './errors.js';

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** Longest canonical path; keeps the local store's encoded file names under 255 bytes. */
export const MAX_PATH = 180;

/**
 * Canonical form of a secret path: no leading or trailing slash
 * (`/instance-profile-app/aws-config` → `instance-profile-app/aws-config`).
 * Segments are letters, digits, `_`, `.`, `-`, not starting with `.` or `-`.
 * @throws SecretStoreError `SIP_SECRET_PATH_INVALID`
 */
export function canonicalSecretPath(path: string): string {
  const segments = path.split('/').filter((s) => s.length > 0);
  if (segments.length === 0) throw new SecretStoreError(SecretErrorCode.invalidPath, `secret path "${path}" is empty`);
  if (segments.join('/').length > MAX_PATH) {
    throw new SecretStoreError(SecretErrorCode.invalidPath, `secret path is longer than ${MAX_PATH} characters`);
  }
  for (const s of segments) {
    if (!SEGMENT.test(s)) {
      throw new SecretStoreError(
        SecretErrorCode.invalidPath,
        `secret path "${path}": segment "${s}" must be letters, digits, '_', '.', '-' and not start with '.' or '-'`,
      );
    }
  }
  return segments.join('/');
}

/** Canonical form of a folder to list under; empty string = the root. */
export function canonicalSecretFolder(path: string): string {
  return path.split('/').filter((s) => s.length > 0).length === 0 ? '' : canonicalSecretPath(path);
}
