import { isAwsConfigSecret } from '../awsconfig/holdsAwsConfig.js';
import { validateAwsConfig } from '../awsconfig/validateAwsConfig.js';
import { ResolveError, ResolveErrorCode } from './errors.js';

/** A kind of secret whose content must have a shape, and how to check it. */
interface SecretKind {
  readonly name: string;
  /** Whether a secret at this canonical path, with this value, is of this kind. */
  readonly matches: (path: string, value: string) => boolean;
  /** Problems with the content, naming keys and lines, never values; empty when it is usable. */
  readonly check: (value: string) => Promise<readonly string[]>;
}

/**
 * Secret kinds by path, first match wins. A secret of no kind is passed as
 * it is. A new kind (a certificate, a token file) is one more row.
 */
const KINDS: readonly SecretKind[] = [
  {
    name: 'a usable AWS config',
    // named as one, or holding one: the one rule (core/awsconfig/holdsAwsConfig.ts)
    matches: isAwsConfigSecret,
    check: async (value) => {
      const result = await validateAwsConfig(value);
      return result.ok ? [] : result.problems;
    },
  },
];

/**
 * Step 4: checks each fetched value against its kind.
 * @throws ResolveError `SIP_SECRET_CONTENT_INVALID` with the problems (keys and lines, never values).
 */
export async function validateSecrets(paths: ReadonlyMap<string, string>, values: ReadonlyMap<string, string>): Promise<void> {
  for (const [secret, path] of paths) {
    const value = values.get(secret) ?? '';
    const kind = KINDS.find((k) => k.matches(path, value));
    if (!kind) continue;
    const problems = await kind.check(value);
    if (problems.length > 0) {
      throw new ResolveError(ResolveErrorCode.invalidContent, `secret "${secret}" (${path}) is not ${kind.name}: ${problems.join('; ')}`, { secret, path });
    }
  }
}
