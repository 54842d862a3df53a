import { SecretStoreError } from '../secrets/errors.js';
import type { SecretStore } from '../secrets/SecretStore.js';
import { ResolveError, ResolveErrorCode } from './errors.js';

/**
 * Step 3: reads each authorized secret from the store.
 * @returns values by secret name (never logged or shown).
 * @throws ResolveError `SIP_SECRET_UNAVAILABLE` naming the secret and the store's reason.
 */
export async function fetchSecrets(paths: ReadonlyMap<string, string>, store: SecretStore): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  for (const [secret, path] of paths) {
    try {
      values.set(secret, await store.get(path));
    } catch (err) {
      const why = err instanceof SecretStoreError ? err.message : 'the secret store failed';
      throw new ResolveError(ResolveErrorCode.missing, `secret "${secret}" (${path}) is unavailable: ${why}`, { secret, path, cause: err });
    }
  }
  return values;
}
