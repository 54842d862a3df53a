import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { AssumeRoleFailure, type AssumeRequest, type RoleCredentials } from '../../core/agent/credentialCache.js';

/** User options of {@link createStsAssumer}. */
export interface StsAssumerInit {
  /** Region of STS; default from the environment (`AWS_REGION`), else us-east-1. */
  region?: string;
  /** Session length, seconds (900–43200), unless the app's AWS config sets `duration_seconds`. Default 3600. */
  durationSeconds?: number;
  /** An STS client to use (tests); default: one with the SDK's default credential chain (the agent's instance profile). */
  client?: Pick<STSClient, 'send'>;
  /** STS's own words for a failure, for the agent's log (never for the task). */
  onFailure?: (request: AssumeRequest, detail: string) => void;
  now?: () => number;
}

const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'RegionDisabledException',
  'MalformedPolicyDocument',
  'ValidationError',
  'PackedPolicyTooLarge',
]);
/** Errors about the agent's own credentials (an expired instance-profile session): not the role's refusal. */
const OWN = new Set(['InvalidClientTokenId', 'ExpiredToken', 'ExpiredTokenException', 'UnrecognizedClientException', 'CredentialsProviderError']);
/** An AccessDenied that is about the session tags or source identity the agent asked for, not the role itself. */
const ABOUT_TAGS = /sts:(TagSession|SetSourceIdentity)/;
/** STS's refusal of a session longer than the role allows (its `MaxSessionDuration`). */
const TOO_LONG = /DurationSeconds exceeds the (?:MaxSessionDuration|maximum)/i;
/** What every role allows (`MaxSessionDuration` is 3600 s unless raised). */
const SAFE_SECONDS = 3600;
/** How long a role known not to allow tags is asked without them before trying again. */
const UNTAGGABLE_MS = 10 * 60_000;

/**
 * AssumeRole as the credential agent does it, with the agent's own
 * credentials from the AWS SDK's default chain (on AWS: the agent's
 * instance profile; the endpoint from `AWS_ENDPOINT_URL` when set):
 * `ExternalId`, the session name, `SourceIdentity` = the app id, and session
 * tags for app and task. A refusal that names `sts:TagSession` or
 * `sts:SetSourceIdentity` is asked once more without them, and for ten
 * minutes without, then with them again; any other refusal is the role's.
 * Errors about the agent's own credentials (an expired session) are
 * "unavailable", never a denial that would drop cached grants. Failures
 * reject with `{ failure }`, whose message is the catalogue's, not STS's.
 */
export function createStsAssumer(init: StsAssumerInit = {}): (request: AssumeRequest) => Promise<RoleCredentials> {
  const client =
    init.client ??
    new STSClient({
      region: init.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      maxAttempts: 2,
      // An STS that accepts and never answers must end in a 503, not a hung task.
      requestHandler: { connectionTimeout: 2000, requestTimeout: 4000, throwOnRequestTimeout: true },
    });
  const untaggable = new Map<string, number>(); // role → until when it is asked without tags
  const shortened = new Map<string, number>(); // role → until when it is asked for SAFE_SECONDS
  const now = init.now ?? Date.now;
  const durationOf = (r: AssumeRequest): number => {
    const wanted = r.durationSeconds ?? init.durationSeconds ?? SAFE_SECONDS;
    return (shortened.get(r.roleArn) ?? 0) > now() ? Math.min(wanted, SAFE_SECONDS) : wanted;
  };
  const call = async (r: AssumeRequest, extras: boolean): Promise<RoleCredentials> => {
    const out = await client.send(
      new AssumeRoleCommand({
        RoleArn: r.roleArn,
        RoleSessionName: r.sessionName,
        ExternalId: r.externalId,
        DurationSeconds: durationOf(r),
        ...(extras ? { SourceIdentity: r.sourceIdentity, Tags: Object.entries(r.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) throw new Error('STS answered without credentials');
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
  };
  // What a task is told is the catalogue's reason; STS's text (it names the agent's role, account and
  // instance) goes to the agent's own log only.
  const failure = (err: unknown, r: AssumeRequest): AssumeRoleFailure => {
    const name = (err as { name?: string }).name ?? '';
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const detail = `${name || 'Error'}${(err as Error).message ? `: ${(err as Error).message}` : ''}`.slice(0, 300);
    init.onFailure?.(r, detail);
    if (OWN.has(name)) return new AssumeRoleFailure({ kind: 'unavailable', message: `the agent's own AWS credentials were refused (${name})` });
    if (DENIED.has(name) || status === 403)
      return new AssumeRoleFailure({
        kind: 'denied',
        message: `${name || 'AccessDenied'}: the role's trust or policy does not let this agent assume it for the app`,
      });
    return new AssumeRoleFailure({ kind: 'unavailable', message: name || 'no answer' });
  };
  return async (r) => {
    const extras = (untaggable.get(r.roleArn) ?? 0) <= now();
    try {
      return await call(r, extras);
    } catch (err) {
      // Longer than the role allows: the role's bound holds (an hour, what every role allows), for a while.
      if (TOO_LONG.test(String((err as Error).message ?? '')) && durationOf(r) > SAFE_SECONDS) {
        shortened.set(r.roleArn, now() + UNTAGGABLE_MS);
        try {
          return await call(r, extras);
        } catch (again) {
          throw failure(again, r);
        }
      }
      const about = ABOUT_TAGS.test(String((err as Error).message ?? ''));
      // Only a refusal that names tags or a source identity is retried without them, and only for a while.
      if (!extras || !about || failure(err, r).failure.kind !== 'denied') throw failure(err, r);
      try {
        const c = await call(r, false);
        untaggable.set(r.roleArn, now() + UNTAGGABLE_MS);
        return c;
      } catch (again) {
        throw failure(again, r);
      }
    }
  };
}
