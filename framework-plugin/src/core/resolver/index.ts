/**
 * The resolver: from an app definition and a task to exactly what to mount,
 * as its steps (refs → authorize → fetch → validate → plan).
 * @packageDocumentation
 */
export { resolve, type ResolveDeps, type TaskIdentity } from './resolve.js';
export { secretRefs, type SecretRef } from './refs.js';
export { authorizeRefs, authorizeOne, type RecordDecision } from './authorize.js';
export { resolveRoleConfig } from './roleConfig.js';
export { fetchSecrets } from './fetch.js';
export { validateSecrets } from './validate.js';
export { planMounts } from './plan.js';
export { createMountPlan, type MountPlan, type PlannedFile } from './mountPlan.js';
export { ResolveError, ResolveErrorCode } from './errors.js';
export type { AuditRecord, AuditSink } from './audit.js';
