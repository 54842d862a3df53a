import { canonicalSecretPath } from '../secrets/secretPath.js';
import { allow, deny, type Decision } from './decision.js';

/**
 * The DC/OS "spaces" rule: may the app `appId` use the secret at `secretPath`?
 *
 * A secret's namespace is its canonical path ({@link canonicalSecretPath})
 * without the last segment. A secret with no namespace (`name`) is usable by
 * every app; otherwise only apps whose id lies at or under the namespace,
 * compared segment by segment (`/a/b`, `/a/b/app` may read `a/b/x`;
 * `/a/bc/app` may not). A path that is not valid is denied, never thrown.
 */
export function authorizeSecret(appId: string, secretPath: string): Decision {
  const app = appId
    .split('/')
    .filter((s) => s.length > 0)
    .join('/');
  if (!app) return deny(`app id "${appId}" is empty`);
  let secret: string;
  try {
    secret = canonicalSecretPath(secretPath);
  } catch (err) {
    return deny((err as Error).message);
  }
  const namespace = secret.split('/').slice(0, -1).join('/');
  if (!namespace) return allow(`secret "${secret}" has no namespace and is usable by every app`);
  if (app === namespace || app.startsWith(`${namespace}/`)) {
    return allow(`app /${app} lies under the secret's namespace /${namespace}`);
  }
  return deny(`app /${app} is not under the secret's namespace /${namespace}`);
}
