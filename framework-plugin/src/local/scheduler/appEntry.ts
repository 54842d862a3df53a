import type { ValidatedApp } from '../../core/marathon/appDefinition.js';
import type { AppView, Deployment, QueueItem, TaskFailure } from '../../core/marathon/views.js';
import type { TaskUser } from '../launcher/identity.js';
import { createAppVersions, type AppVersions } from './appVersions.js';
import type { TaskRunner } from './taskRunner.js';

/** Versions kept per app (Marathon's `zk_max_versions` default). */
export const MAX_VERSIONS = 50;

/** One app as the local cluster holds it: its definition, versions, tasks, deployment and launch state. */
export interface AppEntry {
  app: ValidatedApp;
  /** What tasks run: changed by everything but a scale (`versionInfo.lastConfigChangeAt`). */
  version: string;
  /** Last change of `instances` alone (`versionInfo.lastScalingAt`). */
  lastScalingAt: string;
  /** Every version, oldest first: what `/versions` lists and a rollback returns to. */
  history: AppVersions<ValidatedApp>;
  /** The definition before the open deployment (undefined: the deployment created the app). */
  before?: { app: ValidatedApp; version: string } | undefined;
  /** Since when a launch has been wanted (queue). */
  waitingSince?: string | undefined;
  tasks: Map<string, TaskRunner>;
  failures: number;
  nextLaunchAt: number;
  blocked?: string | undefined;
  removed: boolean;
  deployment?: Deployment | undefined;
  lastTaskFailure?: TaskFailure;
  /** The app's own user and group: every task of the app runs as it. */
  user: TaskUser;
}

/** A new entry for an app at a version, run as `user`. */
export function newAppEntry(app: ValidatedApp, version: string, user: TaskUser): AppEntry {
  return {
    app,
    version,
    lastScalingAt: version,
    history: createAppVersions({ version, app }, MAX_VERSIONS),
    tasks: new Map(),
    failures: 0,
    nextLaunchAt: 0,
    removed: false,
    user,
  };
}

/** The latest version of an app: its last change, scaling included. */
export const latestVersion = (e: AppEntry): string => (e.lastScalingAt > e.version ? e.lastScalingAt : e.version);

/** The app as Marathon's API shows it: definition, version info, task counts, deployment, last failure (and tasks). */
export function appView(e: AppEntry, withTasks: boolean): AppView {
  const tasks = [...e.tasks.values()];
  const running = tasks.filter((t) => t.status() === 'TASK_RUNNING');
  return {
    ...e.app,
    version: latestVersion(e),
    versionInfo: { lastScalingAt: e.lastScalingAt, lastConfigChangeAt: e.version },
    tasksStaged: tasks.filter((t) => t.status() === 'TASK_STAGING').length,
    tasksRunning: running.length,
    tasksHealthy: e.app.healthChecks.length ? running.filter((t) => t.healthy()).length : 0,
    tasksUnhealthy: e.app.healthChecks.length ? running.filter((t) => t.view().healthCheckResults.some((h) => !h.alive)).length : 0,
    deployments: e.deployment ? [{ id: e.deployment.id }] : [],
    ...(e.lastTaskFailure ? { lastTaskFailure: e.lastTaskFailure } : {}),
    ...(withTasks ? { tasks: tasks.map((t) => t.view()) } : {}),
  };
}

/**
 * The app's line in Marathon's launch queue, or none when it has all its
 * instances: how many it waits for, since when, the backoff left, and why
 * (blocked, backing off, no room).
 */
export function queueItemOf(e: AppEntry, now: Date, fits: boolean): QueueItem | undefined {
  const current = [...e.tasks.values()].filter((x) => x.version === e.version && (x.status() === 'TASK_STAGING' || x.status() === 'TASK_RUNNING')).length;
  const count = e.app.instances - current;
  if (count <= 0) {
    e.waitingSince = undefined;
    return undefined;
  }
  e.waitingSince ??= now.toISOString();
  const left = Math.max(0, Math.ceil((e.nextLaunchAt - now.getTime()) / 1000));
  const reason = e.blocked ?? (left > 0 ? 'backing off after failures' : fits ? undefined : 'the agent has no room left (cpus, mem or ports)');
  return {
    app: appView(e, false),
    count,
    role: '*',
    delay: { timeLeftSeconds: left, overdue: left === 0 },
    since: e.waitingSince,
    processedOffersSummary: { processedOffersCount: 0, unusedOffersCount: 0 },
    ...(reason ? { lastUnusedOfferReason: reason } : {}),
  };
}
