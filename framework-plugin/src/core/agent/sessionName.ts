import { createHash } from 'node:crypto';

/** What STS accepts in a role session name: `[\w+=,.@-]`, 2–64 characters. */
const ALLOWED = /[^\w+=,.@-]/g;
const MAX = 64;

/**
 * The role session name for one task: the app id ({@link sessionAppId}) and the
 * task's instance, e.g. `team.web@3f2a9c1e` for `/team/web` and task
 * `team_web.instance-3f2a9c1e-…`. Sanitised to STS's alphabet and cut to 64
 * characters; a cut id keeps a hash of the whole so two long ids stay apart.
 * CloudTrail shows it, so an admin can tell which task used the role.
 */
export function roleSessionName(appId: string, taskId: string): string {
  const app = sessionAppId(appId);
  // The task's own instance: after the last `.instance-` (an app id may itself hold `instance-…`).
  const instance =
    /^instance-([0-9a-f]{8})/i.exec(taskId.slice(taskId.lastIndexOf('.instance-') + 1))?.[1] ?? createHash('sha256').update(taskId).digest('hex').slice(0, 8);
  const suffix = `@${instance}`;
  if (app.length + suffix.length <= MAX) return `${app}${suffix}`;
  const hash = createHash('sha256').update(appId).digest('hex').slice(0, 8);
  return `${app.slice(0, MAX - suffix.length - hash.length - 1)}-${hash}${suffix}`.replace(ALLOWED, '-');
}

/**
 * An app id in STS's alphabet, one-to-one: `/` becomes `.` and a dot of the id
 * `..` (`/a/b` → `a.b`, `/a.b` → `a..b`; Marathon's segments never start or
 * end with a dot, so nothing else reads the same). For session names and
 * `SourceIdentity`.
 */
export function sessionAppId(appId: string): string {
  return appId.replace(/^\/+/, '').replace(/\./g, '..').replace(/\//g, '.').replace(ALLOWED, '-') || 'app';
}

/** Session tag values STS takes: letters, digits, spaces and `_.:/=+-@`, at most 256. */
export function tagValue(value: string): string {
  return value.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '-').slice(0, 256);
}
