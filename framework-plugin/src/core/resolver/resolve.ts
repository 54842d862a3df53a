import type { ValidatedApp } from '../marathon/appDefinition.js';
import type { SecretStore } from '../secrets/SecretStore.js';
import type { AuditRecord, AuditSink } from './audit.js';
import { authorizeRefs } from './authorize.js';
import { fetchSecrets } from './fetch.js';
import type { MountPlan } from './mountPlan.js';
import { planMounts } from './plan.js';
import { secretRefs } from './refs.js';
import { validateSecrets } from './validate.js';

/** The task a plan is for. */
export interface TaskIdentity {
  readonly taskId: string;
}

/** Ports of {@link resolve}. */
export interface ResolveDeps {
  store: SecretStore;
  /** Receives one record per secret decision (allow and deny). */
  audit: AuditSink;
  now?: () => Date;
}

/**
 * The resolver pipeline for one task: refs → authorize → fetch → validate →
 * plan, one file each. Fails closed: any denial, missing secret or invalid
 * content stops the whole plan before anything is delivered, and every
 * decision is audited. Delivery (`delivery/`) is the caller's.
 * @throws ResolveError `SIP_SECRET_DENIED` (with the rule's reason),
 *   `SIP_SECRET_UNAVAILABLE`, `SIP_SECRET_CONTENT_INVALID`.
 */
export async function resolve(app: ValidatedApp, task: TaskIdentity, deps: ResolveDeps): Promise<MountPlan> {
  const now = deps.now ?? (() => new Date());
  const refs = secretRefs(app);
  const paths = authorizeRefs(app, refs, (secret, path, allow, reason) => {
    const r: AuditRecord = { time: now().toISOString(), appId: app.id, taskId: task.taskId, secret, path, decision: allow ? 'allow' : 'deny', reason };
    deps.audit(Object.freeze(r));
  });
  const values = await fetchSecrets(paths, deps.store);
  await validateSecrets(paths, values);
  return planMounts(app.id, task.taskId, refs, paths, values);
}
