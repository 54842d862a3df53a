import { createMountPlan, type MountPlan, type PlannedFile } from './mountPlan.js';
import type { SecretRef } from './refs.js';

/**
 * Step 5: where each value goes for one task: a file (mode 0400) per secret
 * volume, an environment value per env reference.
 */
export function planMounts(
  appId: string,
  taskId: string,
  refs: readonly SecretRef[],
  paths: ReadonlyMap<string, string>,
  values: ReadonlyMap<string, string>,
): MountPlan {
  const files: PlannedFile[] = [];
  const env: Record<string, string> = {};
  for (const ref of refs) {
    const value = values.get(ref.secret) ?? '';
    if (ref.kind === 'env') env[ref.envName] = value;
    else
      files.push({ secret: ref.secret, source: paths.get(ref.secret) ?? '', containerPath: ref.containerPath, mode: 0o400, bytes: Buffer.from(value, 'utf8') });
  }
  return createMountPlan(appId, taskId, files, env);
}
