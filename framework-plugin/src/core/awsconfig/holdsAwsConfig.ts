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
