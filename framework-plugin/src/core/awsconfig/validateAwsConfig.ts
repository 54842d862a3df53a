import { parseProfiles, type Profiles } from './parseProfiles.js';

/** What an AWS-config secret says, once validated (no external id in it). */
export interface AwsConfigSummary {
  readonly profile: string;
  readonly roleArn: string;
  readonly credentialSource?: string;
  readonly sourceProfile?: string;
  readonly hasExternalId: boolean;
}

/** Result of {@link validateAwsConfig}: the summary, or every problem found. */
export type AwsConfigCheck = { ok: true; summary: AwsConfigSummary } | { ok: false; problems: string[] };

/** An IAM role ARN (what `role_arn` and a policy rule name). */
export const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
/** What STS takes as an external id (2-1224 of `[\w+=,.@:/-]`). */
export const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const CREDENTIAL_SOURCES = ['Ec2InstanceMetadata', 'EcsContainer', 'Environment'];
const STATIC_KEYS = ['aws_access_key_id', 'aws_secret_access_key', 'aws_session_token'];

/**
 * Where `key` is set in the section of `profile`: ` (line N)`, or '' when it
 * cannot be told. Problems point at lines, never quote values: with a
 * missing newline a value can carry the external id.
 */
function lineOf(text: string, profile: string, key: string): string {
  const header =
    profile === 'default'
      ? /^\s*\[\s*(default|profile\s+default)\s*\]/
      : new RegExp(`^\\s*\\[\\s*profile\\s+${profile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\]`);
  let inside = false;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^\s*\[/.test(line)) inside = header.test(line);
    else if (inside && new RegExp(`^\\s*${key}\\s*=`).test(line)) return ` (line ${i + 1})`;
  }
  return '';
}

/**
 * Parses AWS shared-config text as the AWS SDK's own loader does (exactly as
 * the default chain reads a file): profile name → its keys. Pure.
 */
export function loadProfiles(text: string): Profiles {
  try {
    return parseProfiles(text);
  } catch {
    return {}; // the SDK's loader swallows what it cannot parse: no profile at all
  }
}

/**
 * Checks a secret meant as an AWS shared config file, parsed by the AWS
 * SDK's own loader (exactly as the default chain will read it), for the
 * profile the task will use (`default` unless given).
 *
 * Requires an assume-role profile: `role_arn` a role ARN; `external_id`
 * 2–1224 characters of `[\w+=,.@:/-]`; one of `credential_source`
 * (Ec2InstanceMetadata, EcsContainer, Environment) or `source_profile`;
 * `duration_seconds` 900–43200. Static keys anywhere are refused.
 * Problems name keys and lines, never a value (a value may hold the
 * external id when a newline is missing).
 */
export async function validateAwsConfig(text: string, profile = 'default'): Promise<AwsConfigCheck> {
  return checkProfiles(loadProfiles(text), text, profile);
}

/** {@link validateAwsConfig} over profiles already parsed from `text` (the text only locates lines). Pure. */
export function checkProfiles(profiles: Profiles, text: string, profile = 'default'): AwsConfigCheck {
  const problems: string[] = [];
  for (const [name, values] of Object.entries(profiles)) {
    for (const key of STATIC_KEYS) {
      if (values[key] !== undefined) problems.push(`[${name}] ${key}: static keys are refused; the app must assume its role`);
    }
  }
  const p = profiles[profile];
  if (!p) {
    problems.push(`profile [${profile === 'default' ? 'default' : `profile ${profile}`}] is missing`);
    return { ok: false, problems };
  }
  const roleArn = p.role_arn;
  if (!roleArn) problems.push('role_arn: required (the app role to assume)');
  else if (!ROLE_ARN.test(roleArn))
    problems.push(`role_arn${lineOf(text, profile, 'role_arn')}: is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>); is a newline missing?`);
  const externalId = p.external_id;
  if (externalId === undefined) problems.push('external_id: required (the pre-shared id the app role trusts)');
  else if (!EXTERNAL_ID.test(externalId)) {
    problems.push(`external_id${lineOf(text, profile, 'external_id')}: must be 2-1224 characters of letters, digits and _+=,.@:/-`);
  }
  const source = p.credential_source;
  const sourceProfile = p.source_profile;
  if (source !== undefined && sourceProfile !== undefined) problems.push('credential_source, source_profile: set only one of them');
  else if (source === undefined && sourceProfile === undefined) problems.push(`credential_source: required, one of ${CREDENTIAL_SOURCES.join(', ')}`);
  else if (source !== undefined && !CREDENTIAL_SOURCES.includes(source)) {
    problems.push(`credential_source${lineOf(text, profile, 'credential_source')}: is not one of ${CREDENTIAL_SOURCES.join(', ')}`);
  } else if (sourceProfile !== undefined && !profiles[sourceProfile])
    problems.push(`source_profile${lineOf(text, profile, 'source_profile')}: names a profile that is not defined`);
  const duration = p.duration_seconds;
  if (duration !== undefined && !(/^\d+$/.test(duration) && Number(duration) >= 900 && Number(duration) <= 43200)) {
    problems.push('duration_seconds: must be an integer from 900 to 43200');
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    summary: {
      profile,
      roleArn: roleArn ?? '',
      hasExternalId: externalId !== undefined,
      ...(source !== undefined ? { credentialSource: source } : {}),
      ...(sourceProfile !== undefined ? { sourceProfile } : {}),
    },
  };
}
