/**
 * The resolver: from an app definition and a task to exactly what to mount.
 * @packageDocumentation
 */
export { resolve, isAwsConfigSecret, type ResolveDeps, type TaskIdentity } from './resolve.js';
export { createMountPlan, type MountPlan, type PlannedFile } from './mountPlan.js';
export { ResolveError, ResolveErrorCode } from './errors.js';
export type { AuditRecord, AuditSink } from './audit.js';
export { secretRefs, type SecretRef } from './refs.js';
