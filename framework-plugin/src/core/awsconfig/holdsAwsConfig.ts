/** Keys that only an AWS config or credentials file sets. */
const KEYS =
  /^\s*(role_arn|external_id|credential_source|source_profile|aws_access_key_id|aws_secret_access_key|aws_session_token|credential_process|web_identity_token_file|sso_start_url|sso_session)\s*=/im;

/**
 * The one rule for "this secret is an AWS config", by content, never by
 * name: any line setting a key only AWS config and credentials files use
 * (`role_arn`, `external_id`, `credential_source`, static keys, …). Pure.
 */
export function holdsAwsConfig(text: string): boolean {
  return KEYS.test(text);
}

/** The name users give an AWS config secret: the last segment `aws-config` (or `aws_config`, `awsconfig`, `aws-conf`). */
const NAMED = /^aws[-_]?conf(ig)?$/i;

/**
 * Whether a secret is an AWS config: named as one, or holding one
 * ({@link holdsAwsConfig}). The resolver validates such secrets as AWS
 * configs; endpoint mode never delivers one to a task. Pure.
 */
export function isAwsConfigSecret(path: string, text: string): boolean {
  return NAMED.test(path.split('/').pop() ?? '') || holdsAwsConfig(text);
}

/** What a task would be handed: files (with the secret each comes from) and environment (a MountPlan's shape). */
export interface Handed {
  readonly files: ReadonlyArray<{ readonly containerPath: string; readonly source: string; readonly bytes: Uint8Array }>;
  readonly env: Readonly<Record<string, string>>;
}

/** Where a task would be handed an AWS config (`the file …` or `$NAME`), by content, or undefined. Pure. */
export function awsConfigDelivered(plan: Handed): string | undefined {
  const delivered = [
    ...plan.files.map((f) => ({ what: `the file ${f.containerPath}`, source: f.source, text: Buffer.from(f.bytes).toString('utf8') })),
    ...Object.entries(plan.env).map(([k, v]) => ({ what: `$${k}`, source: '', text: v })),
  ];
  return delivered.find((d) => isAwsConfigSecret(d.source, d.text))?.what;
}
