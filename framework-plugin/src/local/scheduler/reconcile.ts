import type { TaskStatus } from '../../core/marathon/views.js';

/** What the scheduler knows of one app when it decides: declared state plus its own bookkeeping. */
export interface AppState {
  /** Declared number of tasks. */
  readonly instances: number;
  /** The version tasks should run. */
  readonly version: string;
  /** The app was deleted: its tasks go, then the app is forgotten. */
  readonly removed: boolean;
  /** A launch was refused for a reason that will not change by itself (a denied secret): launch nothing until the app changes. */
  readonly blocked: boolean;
  /** No launch before this instant (epoch ms): the backoff after failures. */
  readonly nextLaunchAt: number;
  /** A deployment is open and waits for its goal. */
  readonly deploymentOpen: boolean;
  /** The whole cluster is stopping: launch nothing. */
  readonly stopping: boolean;
  /** One more task of this app fits what the agent has left (cpus, mem, ports); otherwise it waits, as in Marathon's queue. */
  readonly fits: boolean;
}

/** One task as the scheduler observes it. */
export interface ObservedTask {
  readonly id: string;
  readonly version: string;
  readonly status: TaskStatus;
  /** Running and every health check (if any) alive. */
  readonly healthy: boolean;
  readonly stagedAt: string;
}

/** What the scheduler should do next for one app. */
export type Action =
  | { readonly kind: 'launch' }
  | { readonly kind: 'kill'; readonly taskId: string; readonly reason: string }
  | { readonly kind: 'reset-failures' }
  | { readonly kind: 'deployment-succeeded' }
  | { readonly kind: 'forget' };

const live = (t: ObservedTask): boolean => t.status === 'TASK_STAGING' || t.status === 'TASK_RUNNING';

/**
 * One reconcile step for one app, as Marathon's: declared state + observed
 * tasks + the time → actions. Pure: the caller applies the actions (and
 * repeats the step; kills of a task already being killed are harmless).
 *
 * - one launch at a time (a task still staging blocks the next), never while
 *   blocked, stopping, backing off or when the agent has no room left;
 * - scale down kills the youngest;
 * - a new version replaces old tasks only as new ones turn healthy;
 * - the deployment succeeds when exactly `instances` tasks of the version are healthy and no old one is left;
 * - a removed app loses its tasks, then is forgotten.
 */
export function reconcile(app: AppState, tasks: readonly ObservedTask[], now: number): Action[] {
  const actions: Action[] = [];
  const running = tasks.filter(live);
  if (app.removed) {
    for (const t of running) actions.push({ kind: 'kill', taskId: t.id, reason: 'app removed' });
    if (tasks.length === 0) actions.push({ kind: 'deployment-succeeded' }, { kind: 'forget' });
    return actions;
  }
  const current = running.filter((t) => t.version === app.version);
  const old = running.filter((t) => t.version !== app.version);
  const healthy = current.filter((t) => t.healthy);
  if (healthy.length > 0) actions.push({ kind: 'reset-failures' });
  const staging = current.some((t) => t.status === 'TASK_STAGING');
  if (!app.blocked && !app.stopping && !staging && app.fits && current.length < app.instances && now >= app.nextLaunchAt) actions.push({ kind: 'launch' });
  if (current.length > app.instances) {
    const youngest = [...current].sort((a, b) => b.stagedAt.localeCompare(a.stagedAt));
    for (const t of youngest.slice(0, current.length - app.instances)) actions.push({ kind: 'kill', taskId: t.id, reason: 'scaled down' });
  }
  const keepOld = Math.max(0, app.instances - healthy.length);
  for (const t of old.slice(keepOld)) actions.push({ kind: 'kill', taskId: t.id, reason: 'replaced by a new version' });
  if (app.deploymentOpen && !app.blocked && old.length === 0 && current.length === app.instances && healthy.length === app.instances) {
    actions.push({ kind: 'deployment-succeeded' });
  }
  return actions;
}

/** Marathon's launch backoff after `failures` consecutive failures: `backoffSeconds × backoffFactor^(n-1)`, at most `maxLaunchDelaySeconds`, in ms. */
export function backoffDelayMs(app: { backoffSeconds: number; backoffFactor: number; maxLaunchDelaySeconds: number }, failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(app.backoffSeconds * app.backoffFactor ** (failures - 1), app.maxLaunchDelaySeconds) * 1000;
}
