import { validateAwsConfig } from '../awsconfig/validateAwsConfig.js';
import { ResolveError, ResolveErrorCode } from './errors.js';

/** A kind of secret whose content must have a shape, and how to check it. */
interface SecretKind {
  readonly name: string;
  /** Whether a secret at this canonical path is of this kind. */
  readonly matches: (path: string) => boolean;
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
    // the last segment is `aws-config` (or `aws_config`, `awsconfig`, `aws-conf`)
    matches: (path) => /^aws[-_]?conf(ig)?$/i.test(path.split('/').pop() ?? ''),
    check: async (value) => {
      const result = await validateAwsConfig(value);
      return result.ok ? [] : result.problems;
    },
  },
];

/** True for secrets whose content must be a valid AWS config. */
export function isAwsConfigSecret(path: string): boolean {
  return KINDS[0]?.matches(path) ?? false;
}

/**
 * Step 4: checks each fetched value against its kind.
 * @throws ResolveError `SIP_SECRET_CONTENT_INVALID` with the problems (keys and lines, never values).
 */
export async function validateSecrets(paths: ReadonlyMap<string, string>, values: ReadonlyMap<string, string>): Promise<void> {
  for (const [secret, path] of paths) {
    const kind = KINDS.find((k) => k.matches(path));
    if (!kind) continue;
    const problems = await kind.check(values.get(secret) ?? '');
    if (problems.length > 0) {
      throw new ResolveError(ResolveErrorCode.invalidContent, `secret "${secret}" (${path}) is not ${kind.name}: ${problems.join('; ')}`, { secret, path });
    }
  }
}
