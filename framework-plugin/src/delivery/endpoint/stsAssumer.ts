import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AssumeFailure, AssumeRequest, RoleCredentials } from '../../core/agent/credentialCache.js';

/** User options of {@link createStsAssumer}. */
export interface StsAssumerInit {
  /** Region of STS; default from the environment (`AWS_REGION`), else us-east-1. */
  region?: string;
  /** Session length, seconds (900–43200; the role's maximum applies). Default 3600. */
  durationSeconds?: number;
  /** An STS client to use (tests); default: one with the SDK's default credential chain (the agent's instance profile). */
  client?: STSClient;
}

const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'InvalidClientTokenId', 'ExpiredToken', 'RegionDisabledException', 'MalformedPolicyDocument', 'ValidationError', 'PackedPolicyTooLarge']);

/**
 * AssumeRole as the credential agent does it, with the agent's own
 * credentials from the AWS SDK's default chain (on AWS: the agent's
 * instance profile; the endpoint from `AWS_ENDPOINT_URL` when set):
 * `ExternalId`, the session name, `SourceIdentity` = the app id, and session
 * tags for app and task. A role whose trust does not allow `sts:TagSession`
 * or `sts:SetSourceIdentity` is asked once more without them, and from then
 * on without. Failures reject with `{ failure }` (denied or unavailable).
 */
export function createStsAssumer(init: StsAssumerInit = {}): (request: AssumeRequest) => Promise<RoleCredentials> {
  const client = init.client ?? new STSClient({
      region: init.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      maxAttempts: 2,
      // An STS that accepts and never answers must end in a 503, not a hung task.
      requestHandler: { connectionTimeout: 2000, requestTimeout: 4000, throwOnRequestTimeout: true },
    });
  const untaggable = new Set<string>();
  const call = async (r: AssumeRequest, extras: boolean): Promise<RoleCredentials> => {
    const out = await client.send(
      new AssumeRoleCommand({
        RoleArn: r.roleArn,
        RoleSessionName: r.sessionName,
        ExternalId: r.externalId,
        DurationSeconds: init.durationSeconds ?? 3600,
        ...(extras ? { SourceIdentity: r.sourceIdentity, Tags: Object.entries(r.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) throw new Error('STS answered without credentials');
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
  };
  const failure = (err: unknown): { failure: AssumeFailure } => {
    const name = (err as { name?: string }).name ?? '';
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const message = `${name || 'Error'}${(err as Error).message ? `: ${(err as Error).message}` : ''}`.slice(0, 300);
    return { failure: { kind: DENIED.has(name) || status === 403 ? 'denied' : 'unavailable', message } };
  };
  return async (r) => {
    const extras = !untaggable.has(r.roleArn);
    try {
      return await call(r, extras);
    } catch (err) {
      const f = failure(err);
      if (!extras || f.failure.kind !== 'denied') throw f;
      try {
        const c = await call(r, false);
        untaggable.add(r.roleArn); // this role's trust does not allow tags or a source identity
        return c;
      } catch (again) {
        throw failure(again);
      }
    }
  };
}
