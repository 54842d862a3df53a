import { awsConfigDelivered } from '../../core/awsconfig/holdsAwsConfig.js';
import type { ValidatedApp } from '../../core/marathon/appDefinition.js';
import { AWS_CONFIG_LABEL, CREDENTIALS_LABEL } from '../../core/marathon/credentialMode.js';
import type { AuditRecord } from '../../core/resolver/audit.js';
import { authorizeOne } from '../../core/resolver/authorize.js';
import { ResolveError } from '../../core/resolver/errors.js';
import type { MountPlan } from '../../core/resolver/mountPlan.js';
import { resolve } from '../../core/resolver/resolve.js';
import type { SecretStore } from '../../core/secrets/SecretStore.js';

/**
 * Why an endpoint-mode task may not start, or undefined: the AWS config its
 * label names lies outside the app's path (the DC/OS rule, audited, checked
 * before anything starts), or any secret it would receive, in a file or the
 * environment, is an AWS config (`isAwsConfigSecret`, by content): its
 * external id would reach the task, the one thing endpoint mode promises it
 * never does. Pure but for the audit sink.
 */
export function endpointRefusal(app: ValidatedApp, plan: MountPlan, taskId: string, audit: (record: AuditRecord) => void, now: () => Date): string | undefined {
  const label = app.labels[AWS_CONFIG_LABEL];
  if (label !== undefined) {
    try {
      authorizeOne(app, AWS_CONFIG_LABEL, label, (secret, path, allow, reason) =>
        audit(Object.freeze({ time: now().toISOString(), appId: app.id, taskId, secret, path, decision: allow ? 'allow' : 'deny', reason })),
      );
    } catch (err) {
      if (err instanceof ResolveError) return err.message;
      throw err;
    }
  }
  const leak = awsConfigDelivered(plan);
  if (leak) {
    return `${CREDENTIALS_LABEL}=endpoint: ${leak} would hold an AWS config (its external id would reach the task); name the secret with the label ${AWS_CONFIG_LABEL}=<path> instead of delivering it`;
  }
  return undefined;
}

/**
 * At `app add`: why an endpoint-mode app may not be saved (a secret it
 * would receive holds an AWS config), or undefined. Only secrets the path
 * rule lets the app read are looked at, so the answer tells nothing about
 * others'; a denied or missing secret is left to task start, which refuses
 * it with its own reason. Secrets change, so task start checks again.
 */
export async function endpointAdmission(app: ValidatedApp, store: SecretStore): Promise<string | undefined> {
  let plan: MountPlan;
  try {
    plan = await resolve(app, { taskId: '(app add)' }, { store, audit: () => undefined });
  } catch (err) {
    if (err instanceof ResolveError) return undefined;
    throw err;
  }
  const leak = awsConfigDelivered(plan);
  return leak
    ? `${CREDENTIALS_LABEL}=endpoint: ${leak} would hold an AWS config (its external id would reach the task); name the secret with the label ${AWS_CONFIG_LABEL}=<path> instead of delivering it`
    : undefined;
}
