import { assumeRoleOf, type AssumeRoleConfig } from '../awsconfig/assumeRoleOf.js';
import type { ValidatedApp } from '../marathon/appDefinition.js';
import { AWS_CONFIG_LABEL } from '../marathon/credentialMode.js';
import type { AuditRecord } from './audit.js';
import { authorizeOne } from './authorize.js';
import { ResolveError, ResolveErrorCode } from './errors.js';
import { fetchSecrets } from './fetch.js';
import type { ResolveDeps, TaskIdentity } from './resolve.js';

/**
 * The AWS config an endpoint-mode app names with its `sip.aws.config-secret`
 * label, for `sip agent` alone (nothing of it reaches the task): the same
 * path rule (audited), the store, and the AWS-config check as a mounted one.
 * Parsed once, into the role to assume.
 * @returns the role and external id, or undefined when the app has no such label.
 * @throws ResolveError `SIP_SECRET_DENIED`, `SIP_SECRET_UNAVAILABLE`, `SIP_SECRET_CONTENT_INVALID` (problems by key and line, never values).
 */
export async function resolveRoleConfig(app: ValidatedApp, task: TaskIdentity, deps: ResolveDeps): Promise<AssumeRoleConfig | undefined> {
  const source = app.labels[AWS_CONFIG_LABEL];
  if (source === undefined) return undefined;
  const now = deps.now ?? (() => new Date());
  const path = authorizeOne(app, AWS_CONFIG_LABEL, source, (secret, p, allow, reason) => {
    const r: AuditRecord = { time: now().toISOString(), appId: app.id, taskId: task.taskId, secret, path: p, decision: allow ? 'allow' : 'deny', reason };
    deps.audit(Object.freeze(r));
  });
  const text = (await fetchSecrets(new Map([[AWS_CONFIG_LABEL, path]]), deps.store)).get(AWS_CONFIG_LABEL)!;
  const check = assumeRoleOf(text);
  if (!check.ok)
    throw new ResolveError(ResolveErrorCode.invalidContent, `the AWS config ${path} (${AWS_CONFIG_LABEL}) is not usable: ${check.problems.join('; ')}`, {
      secret: AWS_CONFIG_LABEL,
      path,
    });
  return check.config;
}
