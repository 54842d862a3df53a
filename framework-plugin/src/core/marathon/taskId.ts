import { ID_SEGMENT } from './appId.js';

/** What a Marathon task id says about its task. */
export interface ParsedTaskId {
  /** The app (run spec) id, e.g. `/team/web`. */
  readonly appId: string;
  /** The instance id (`team_web.instance-<uuid>`), when the id has one. */
  readonly instanceId?: string;
  /**
   * The pod container the task is (`team_pod.instance-<uuid>.web` → `web`);
   * undefined for an app's task (`$anon`, `_app`, or an id without instance).
   */
  readonly container?: string;
}

// mesosphere/marathon core/task/Task.scala, `Task.Id`:
//   TaskIdWithInstanceIdRegex = ^(.+)\.(instance-|marathon-)([^_\.]+)[\._]([^_\.]+)$
//   LegacyTaskIdRegex         = ^(.+)[\._]([^_\.]+)$
// and, since Marathon 1.9, an incarnation after the container name
// (`…instance-<uuid>._app.1`, `…instance-<uuid>.web.2`).
const WITH_INSTANCE = /^(.+)\.(instance-|marathon-)([^_.]+)[._]([^_.]+)(?:\.(\d+))?$/;
const LEGACY = /^(.+)[._]([^_.]+)$/;
/** Marathon's name for an app task's container (`Task.Id.Names.anonymousContainer`, and `_app` since 1.9). */
const APP_CONTAINERS = new Set(['$anon', 'app']);

/** A run spec id from Marathon's "safe path" (`team_web` → `/team/web`; `PathId.fromSafePath`), or undefined. */
function fromSafePath(safe: string): string | undefined {
  const segments = safe.split('_');
  return segments.every((s) => ID_SEGMENT.test(s)) ? `/${segments.join('/')}` : undefined;
}

/**
 * Parses a Marathon task id in every form Marathon itself parses (legacy
 * `<app>.<uuid>`, `<app>.marathon-<uuid>…`, `<app>.instance-<uuid>.$anon`,
 * `<app>.instance-<uuid>._app.<incarnation>`, a pod's
 * `<pod>.instance-<uuid>.<container>[.<incarnation>]`). Pure; undefined when
 * the id is none of them. The app id it gives is a claim to be checked with
 * Marathon, which alone knows the task.
 */
export function parseTaskId(taskId: string): ParsedTaskId | undefined {
  if (taskId.length > 512) return undefined;
  const m = WITH_INSTANCE.exec(taskId.replace('._app.', '.app.').replace(/\._app$/, '.app'));
  if (m) {
    const appId = fromSafePath(m[1]!);
    if (!appId) return undefined;
    const container = m[4]!;
    return { appId, instanceId: `${m[1]}.${m[2]}${m[3]}`, ...(APP_CONTAINERS.has(container) ? {} : { container }) };
  }
  const legacy = LEGACY.exec(taskId);
  if (!legacy) return undefined;
  const appId = fromSafePath(legacy[1]!);
  return appId ? { appId } : undefined;
}
