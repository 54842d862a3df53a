import { authorizeSecret } from '../authz/secretPathRule.js';
import { validateAwsConfig } from '../awsconfig/validateAwsConfig.js';
import { validateAppDefinition, type AppDefinition } from '../marathon/appDefinition.js';
import { SecretStoreError } from '../secrets/errors.js';
import { canonicalSecretPath } from '../secrets/secretPath.js';
import type { SecretStore } from '../secrets/SecretStore.js';
import type { AuditRecord, AuditSink } from './audit.js';
import { ResolveError, ResolveErrorCode } from './errors.js';
import { createMountPlan, type MountPlan, type PlannedFile } from './mountPlan.js';
import { secretRefs } from './refs.js';

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

/** True for secrets whose content must be a valid AWS config: the path's last segment is `aws-config` (or `aws_config`, `awsconfig`). */
export function isAwsConfigSecret(path: string): boolean {
  return /^aws[-_]?conf(ig)?$/i.test(path.split('/').pop() ?? '');
}

/**
 * The resolver pipeline for one task: refs → authorize → fetch → validate →
 * plan. Fails closed: any denial, missing secret or invalid content stops the
 * whole plan before anything is delivered, and every decision is audited.
 * @throws ResolveError `SIP_SECRET_DENIED` (with the rule's reason),
 *   `SIP_SECRET_UNAVAILABLE`, `SIP_SECRET_CONTENT_INVALID`, `SIP_APP_INVALID`.
 */
export async function resolve(app: AppDefinition, task: TaskIdentity, deps: ResolveDeps): Promise<MountPlan> {
  const now = deps.now ?? (() => new Date());
  const problems = validateAppDefinition(app);
  if (problems.length > 0) {
    throw new ResolveError(ResolveErrorCode.invalidApp, `app ${app.id} is not valid: ${problems.map((p) => `${p.path}: ${p.errors.join('; ')}`).join(', ')}`);
  }
  const refs = secretRefs(app);
  const record = (secret: string, path: string, allow: boolean, reason: string): void => {
    const r: AuditRecord = { time: now().toISOString(), appId: app.id, taskId: task.taskId, secret, path, decision: allow ? 'allow' : 'deny', reason };
    deps.audit(Object.freeze(r));
  };

  // Authorize every reference before fetching any value.
  const paths = new Map<string, string>();
  for (const ref of refs) {
    if (paths.has(ref.secret)) continue;
    let path: string;
    try {
      path = canonicalSecretPath(ref.source);
    } catch (err) {
      record(ref.secret, ref.source, false, (err as Error).message);
      throw new ResolveError(ResolveErrorCode.denied, `secret "${ref.secret}": ${(err as Error).message}`, { secret: ref.secret, path: ref.source, cause: err });
    }
    const decision = authorizeSecret(app.id, path);
    record(ref.secret, path, decision.allow, decision.reason);
    if (!decision.allow) {
      throw new ResolveError(ResolveErrorCode.denied, `secret "${ref.secret}" (${path}) denied: ${decision.reason}`, { secret: ref.secret, path });
    }
    paths.set(ref.secret, path);
  }

  const values = new Map<string, string>();
  for (const [secret, path] of paths) {
    let value: string;
    try {
      value = await deps.store.get(path);
    } catch (err) {
      const why = err instanceof SecretStoreError ? err.message : 'the secret store failed';
      throw new ResolveError(ResolveErrorCode.missing, `secret "${secret}" (${path}) is unavailable: ${why}`, { secret, path, cause: err });
    }
    if (isAwsConfigSecret(path)) {
      const check = await validateAwsConfig(value);
      if (!check.ok) {
        throw new ResolveError(ResolveErrorCode.invalidContent, `secret "${secret}" (${path}) is not a usable AWS config: ${check.problems.join('; ')}`, {
          secret,
          path,
        });
      }
    }
    values.set(secret, value);
  }

  const files: PlannedFile[] = [];
  const env: Record<string, string> = {};
  for (const ref of refs) {
    const value = values.get(ref.secret) ?? '';
    if (ref.kind === 'env') env[ref.envName] = value;
    else files.push({ secret: ref.secret, source: paths.get(ref.secret) ?? '', containerPath: ref.containerPath, mode: 0o400, bytes: Buffer.from(value, 'utf8') });
  }
  return createMountPlan(app.id, task.taskId, files, env);
}
