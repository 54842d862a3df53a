/** The credential modes an app chooses with the {@link CREDENTIALS_LABEL} label. */
export const CREDENTIAL_MODES = ['file', 'endpoint'] as const;
/** How a task gets its AWS credentials: its config file in the sandbox (`file`), or `sip agent`'s endpoint. */
export type CredentialMode = (typeof CREDENTIAL_MODES)[number];
/** The Marathon label that chooses the mode. */
export const CREDENTIALS_LABEL = 'sip.aws.credentials';

/**
 * The Marathon label by which an endpoint-mode app names its AWS config
 * secret (its path): `sip agent` reads it, the task never receives it.
 */
export const AWS_CONFIG_LABEL = 'sip.aws.config-secret';

/** Whether a label value names a mode. */
export const isCredentialMode = (v: unknown): v is CredentialMode => (CREDENTIAL_MODES as readonly unknown[]).includes(v);

/** An app's mode: its label, else the cluster's default. */
export function credentialModeOf(app: { readonly labels: Readonly<Record<string, string>> }, clusterDefault: CredentialMode): CredentialMode {
  const label = app.labels[CREDENTIALS_LABEL];
  return isCredentialMode(label) ? label : clusterDefault;
}
