import { authorizeSecret } from '../authz/secretPathRule.js';
import { canonicalSecretPath } from '../secrets/secretPath.js';
import type { ValidatedApp } from '../marathon/appDefinition.js';
import { ResolveError, ResolveErrorCode } from './errors.js';
import type { SecretRef } from './refs.js';

/** Records one decision for audit (the caller adds time, app and task). */
export type RecordDecision = (secret: string, path: string, allow: boolean, reason: string) => void;

/**
 * Step 2: the DC/OS path rule for every distinct secret the app references,
 * before any value is fetched. Every decision is recorded, allow or deny.
 * @returns each secret's canonical store path, by secret name.
 * @throws ResolveError `SIP_SECRET_DENIED` at the first denial, with the rule's reason.
 */
export function authorizeRefs(app: ValidatedApp, refs: readonly SecretRef[], record: RecordDecision): Map<string, string> {
  const paths = new Map<string, string>();
  for (const ref of refs) if (!paths.has(ref.secret)) paths.set(ref.secret, authorizeOne(app, ref.secret, ref.source, record));
  return paths;
}

/**
 * The DC/OS path rule for one secret the app names (`secret` is how the app
 * calls it: a reference's name, or a label), recorded.
 * @returns the canonical store path.
 * @throws ResolveError `SIP_SECRET_DENIED` with the rule's reason.
 */
export function authorizeOne(app: Pick<ValidatedApp, 'id'>, secret: string, source: string, record: RecordDecision): string {
  const decision = authorizeSecret(app.id, source);
  let path = source; // audited as written when it is not a valid path (the decision says why)
  try {
    path = canonicalSecretPath(source);
  } catch {
    // an allowed path is always canonical; a refused one keeps its form
  }
  record(secret, path, decision.allow, decision.reason);
  if (!decision.allow) throw new ResolveError(ResolveErrorCode.denied, `secret "${secret}" (${path}) denied: ${decision.reason}`, { secret, path });
  return path;
}
