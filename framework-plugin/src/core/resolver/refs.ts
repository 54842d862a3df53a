import type { AppDefinition } from '../marathon/appDefinition.js';
import { secretVolumes } from '../marathon/appDefinition.js';

/** One place an app uses a secret. */
export type SecretRef =
  | { readonly kind: 'env'; readonly secret: string; readonly source: string; readonly envName: string }
  | { readonly kind: 'file'; readonly secret: string; readonly source: string; readonly containerPath: string };

/** Every secret reference of a (validated) app: env `{secret}` values and secret volumes. */
export function secretRefs(app: AppDefinition): SecretRef[] {
  const refs: SecretRef[] = [];
  const sourceOf = (name: string): string => app.secrets[name]?.source ?? '';
  for (const [envName, value] of Object.entries(app.env)) {
    if (typeof value !== 'string') refs.push({ kind: 'env', secret: value.secret, source: sourceOf(value.secret), envName });
  }
  for (const v of secretVolumes(app)) refs.push({ kind: 'file', secret: v.secret, source: sourceOf(v.secret), containerPath: v.containerPath });
  return refs;
}
