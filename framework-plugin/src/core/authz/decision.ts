/**
 * The answer of an access policy: a value, never an exception (kube2iam/kiam
 * style), so callers can audit and explain denials uniformly.
 */
export type Decision = { readonly allow: true; readonly reason: string } | { readonly allow: false; readonly reason: string };

/** An allowing {@link Decision}. */
export const allow = (reason: string): Decision => Object.freeze({ allow: true, reason });
/** A denying {@link Decision}. */
export const deny = (reason: string): Decision => Object.freeze({ allow: false, reason });
