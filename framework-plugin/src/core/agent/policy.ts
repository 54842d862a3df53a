import { isUnder } from '../marathon/groups.js';

/** One rule of a policy file: apps under `group` may use `roleArn`, assumed with `externalId`. */
export interface PolicyRule {
  readonly group: string;
  readonly roleArn: string;
  readonly externalId: string;
}

/** A validated policy file (for clusters without a secrets service). */
export interface RolePolicy {
  readonly rules: readonly PolicyRule[];
}

/** What the policy decides for one app. */
export type PolicyDecision = { allow: true; rule: PolicyRule } | { allow: false; reason: string };

/**
 * Which role an app may use under a policy file, with the DC/OS path rule's
 * semantics: a rule for group `/a/b` covers `/a/b/app` and `/a/b/c/app`
 * (never `/a/bc`); the most specific group wins; no rule, no role (deny by
 * default), as kube2iam's namespace restrictions.
 */
export function decideByPolicy(policy: RolePolicy, appId: string): PolicyDecision {
  const matching = policy.rules.filter((r) => isUnder(appId, r.group) && appId !== r.group);
  if (matching.length === 0) return { allow: false, reason: `no policy rule covers ${appId} (deny by default)` };
  const depth = (g: string): number => (g === '/' ? 0 : g.split('/').length);
  const best = [...matching].sort((a, b) => depth(b.group) - depth(a.group))[0]!;
  return { allow: true, rule: best };
}
