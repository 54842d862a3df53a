/** The largest secret value accepted, as on DC/OS (about 1 MB). */
export const MAX_SECRET_BYTES = 1024 * 1024;

/**
 * Where secrets live. One interface for the local encrypted store and the
 * DC/OS Secrets API; paths are canonicalised by the store
 * (`/a/b` and `a/b` are the same secret).
 *
 * Failures are `SecretStoreError`s with stable codes:
 * `SIP_SECRET_NOT_FOUND`, `SIP_SECRET_EXISTS`, `SIP_SECRET_PATH_INVALID`,
 * `SIP_SECRET_TOO_LARGE`, `SIP_SECRET_TAMPERED`, …
 */
export interface SecretStore {
  /** The value at `path`. */
  get(path: string): Promise<string>;
  /** Creates `path`; fails with `SIP_SECRET_EXISTS` if it is there. */
  create(path: string, value: string): Promise<void>;
  /** Replaces the value at an existing `path`. */
  update(path: string, value: string): Promise<void>;
  /** Removes `path`. */
  delete(path: string): Promise<void>;
  /** Secret paths under `folder` (`''` = all), relative to it, sorted. */
  list(folder: string): Promise<string[]>;
}
