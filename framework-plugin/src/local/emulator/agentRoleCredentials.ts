import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentials } from './credentials.js';

/** A source of credentials that may be called often; it caches and refreshes. */
export type CredentialSource = () => Promise<AwsCredentials>;

/** User options of {@link agentRoleCredentials}. */
export interface AgentRoleCredentialsInit {
  /** STS endpoint (the emulator, or omit for real AWS). */
  endpoint?: string;
  region: string;
  /** The agent role (instance-profile role) to hand out sessions of. */
  roleArn: string;
  /** Identity that may assume the agent role (the harness's EC2 stand-in). */
  sourceCredentials: AwsCredentials;
  /** The session name: as on EC2, the instance id (`i-…`) of the instance whose profile this is. */
  sessionName?: string;
  /** Session length in seconds. Default 3600. */
  durationSeconds?: number;
  /** Refresh this long before expiry. Default 5 minutes (as EC2 does). */
  refreshMarginMs?: number;
  /** Clock, injected for tests. */
  now?: () => number;
  /** Timeout of one STS call. Default 5000 ms. */
  timeoutMs?: number;
}

/**
 * Instance-profile credentials for the agent, obtained for real by assuming
 * the agent role, cached and refreshed before they expire.
 *
 * Concurrent callers during a refresh share one STS call (single flight).
 */
export function agentRoleCredentials(init: AgentRoleCredentialsInit): CredentialSource {
  const now = init.now ?? Date.now;
  const margin = init.refreshMarginMs ?? 5 * 60_000;
  const sts = new STSClient({
    region: init.region,
    credentials: init.sourceCredentials,
    maxAttempts: 2,
    requestHandler: { requestTimeout: init.timeoutMs ?? 5000 },
    ...(init.endpoint ? { endpoint: init.endpoint } : {}),
  });
  let cached: AwsCredentials | undefined;
  let inflight: Promise<AwsCredentials> | undefined;

  const refresh = async (): Promise<AwsCredentials> => {
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: init.roleArn,
        RoleSessionName: init.sessionName ?? `i-sip-agent-${now()}`,
        DurationSeconds: init.durationSeconds ?? 3600,
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new Error('STS returned incomplete credentials for the agent role');
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
  };

  return async () => {
    if (cached?.expiration && cached.expiration.getTime() - margin > now()) return cached;
    inflight ??= refresh().finally(() => {
      inflight = undefined;
    });
    cached = await inflight;
    return cached;
  };
}
