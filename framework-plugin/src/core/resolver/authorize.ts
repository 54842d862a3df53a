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
  for (const ref of refs) {
    if (paths.has(ref.secret)) continue;
    const decision = authorizeSecret(app.id, ref.source);
    let path = ref.source; // audited as written when it is not a valid path (the decision says why)
    try {
      path = canonicalSecretPath(ref.source);
    } catch {
      // an allowed path is always canonical; a refused one keeps its form
    }
    record(ref.secret, path, decision.allow, decision.reason);
    if (!decision.allow) {
      throw new ResolveError(ResolveErrorCode.denied, `secret "${ref.secret}" (${path}) denied: ${decision.reason}`, { secret: ref.secret, path });
    }
    paths.set(ref.secret, path);
  }
  return paths;
}
