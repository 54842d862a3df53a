import type { AppDefinition } from '../../core/marathon/appDefinition.js';
import { createMountPlan, type MountPlan } from '../../core/resolver/mountPlan.js';
import { secretRefs } from '../../core/resolver/refs.js';
import { isAwsConfigSecret } from '../../core/resolver/validate.js';

/**
 * The plan for an endpoint-mode task: everything but the AWS config (its
 * files and env values), which stays with `sip agent`. Pure.
 */
export function withoutAwsConfig(plan: MountPlan, app: AppDefinition): MountPlan {
  const awsEnv = new Set(
    secretRefs(app)
      .filter((r) => r.kind === 'env' && isAwsConfigSecret(r.source))
      .map((r) => (r.kind === 'env' ? r.envName : '')),
  );
  const files = plan.files.filter((f) => !isAwsConfigSecret(f.source));
  const env = Object.fromEntries(Object.entries(plan.env).filter(([k]) => !awsEnv.has(k)));
  return createMountPlan(plan.appId, plan.taskId, [...files], env);
}
