import { allow, deny, type Decision } from './decision.js';

/** Strips leading/trailing slashes and collapses repeated ones: `/a//b/` → `a/b`. */
export function normalizePath(path: string): string {
  return path.split('/').filter((s) => s.length > 0).join('/');
}

/**
 * The DC/OS "spaces" rule: may the app `appId` use the secret at `secretPath`?
 *
 * A secret's namespace is its path without the last segment. A secret with no
 * namespace (`name`) is usable by every app; otherwise only apps whose id lies
 * at or under the namespace, compared segment by segment (`/a/b`, `/a/b/app`
 * may read `a/b/x`; `/a/bc/app` may not). Leading slashes do not matter.
 */
export function authorizeSecret(appId: string, secretPath: string): Decision {
  const app = normalizePath(appId);
  const secret = normalizePath(secretPath);
  if (!secret) return deny(`secret path "${secretPath}" is empty`);
  if (!app) return deny(`app id "${appId}" is empty`);
  const segments = secret.split('/');
  if (segments.some((s) => s === '.' || s === '..')) return deny(`secret path "${secret}" contains "." or ".." segments`);
  const namespace = segments.slice(0, -1).join('/');
  if (!namespace) return allow(`secret "${secret}" has no namespace and is usable by every app`);
  if (app === namespace || app.startsWith(`${namespace}/`)) {
    return allow(`app /${app} lies under the secret's namespace /${namespace}`);
  }
  return deny(`app /${app} is not under the secret's namespace /${namespace}`);
}
