import { inspect } from 'node:util';
import { checkProfiles, loadProfiles } from './validateAwsConfig.js';

/** The role an AWS-config secret names and the external id it carries. Never printed whole. */
export interface AssumeRoleConfig {
  readonly roleArn: string;
  readonly externalId: string;
  /** `duration_seconds`, when the config sets it. */
  readonly durationSeconds?: number;
}

/**
 * Reads an app's AWS-config secret as the credential agent needs it, with
 * the AWS SDK's reading, parsed once and checked by the rules a mounted
 * config meets (`checkProfiles`, so the same rules hold in both delivery
 * modes). The result redacts the external id from `JSON.stringify` and
 * `util.inspect`. Pure.
 * @returns the role, or the problems (keys and lines, never a value).
 */
export function assumeRoleOf(text: string, profile = 'default'): { ok: true; config: AssumeRoleConfig } | { ok: false; problems: string[] } {
  const profiles = loadProfiles(text);
  const check = checkProfiles(profiles, text, profile);
  if (!check.ok) return check;
  const section = profiles[profile] ?? {};
  const externalId = section.external_id ?? '';
  const duration = section.duration_seconds;
  const config: AssumeRoleConfig = {
    roleArn: check.summary.roleArn,
    externalId,
    ...(duration ? { durationSeconds: Number(duration) } : {}),
  };
  const redacted = { roleArn: config.roleArn, externalId: '[redacted]', ...(duration ? { durationSeconds: Number(duration) } : {}) };
  Object.defineProperties(config, {
    toJSON: { value: () => redacted, enumerable: false },
    [inspect.custom]: { value: () => `AssumeRoleConfig ${inspect(redacted)}`, enumerable: false },
  });
  return { ok: true, config: Object.freeze(config) };
}
