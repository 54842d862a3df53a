import { createDockerEngine, type DockerEngine } from '../launcher/dockerTask.js';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SipError } from '../../core/errors/SipError.js';
import { createPortAllocator } from '../launcher/ports.js';
import { parseAppDefinition, type ValidatedApp } from '../../core/marathon/appDefinition.js';
import type { SecretStore } from '../../core/secrets/SecretStore.js';
import { createDeployment, planOf, type DeploymentAction } from './deployments.js';
import { createEventBus, type EventBus } from '../../core/marathon/events.js';
import type { AppView, Deployment, TaskFailure, TaskView } from '../../core/marathon/views.js';
import { runTask, type TaskRunner } from './taskRunner.js';

/** User options of {@link createLocalCluster}. */
export interface LocalClusterInit {
  /** Directory for apps (survive restarts) and task sandboxes. */
  stateDir: string;
  store: SecretStore;
  logger: Logger;
  /** Environment every task inherits, as from its agent (PATH, AWS endpoints). */
  agentEnv: Record<string, string>;
  /** Host port range for tasks. Default 31000–32000. */
  portRange?: { from: number; to: number };
  events?: EventBus;
  now?: () => Date;
  /** Reconcile interval, ms. Default 200. */
  tickMs?: number;
  /** Runs DOCKER apps. Default: the `docker` CLI ({@link createDockerEngine}). */
  docker?: DockerEngine;
}

/** The Marathon-like scheduler of the local cluster. */
export interface LocalCluster {
  readonly events: EventBus;
  /** Loads persisted apps and starts reconciling. */
  start(): Promise<void>;
  /** Kills every task (apps stay persisted). */
  stop(): Promise<void>;
  /** @throws SipError `SIP_APP_EXISTS` */
  addApp(app: ValidatedApp): Promise<{ app: AppView; deployment: Deployment }>;
  /** Creates or replaces (new version, rolling restart). */
  putApp(app: ValidatedApp): Promise<Deployment>;
  /** @throws SipError `SIP_APP_NOT_FOUND` */
  removeApp(id: string): Promise<Deployment>;
  /** @throws SipError `SIP_APP_NOT_FOUND` */
  restartApp(id: string): Promise<Deployment>;
  getApp(id: string, withTasks?: boolean): AppView | undefined;
  listApps(withTasks?: boolean): AppView[];
  tasks(appId?: string): TaskView[];
  deployments(): Deployment[];
  /** Registers a hook run before a task is signalled to stop (after TASK_KILLING). */
  onBeforeKill(hook: (task: TaskView) => Promise<void>): void;
}

interface Entry {
  app: ValidatedApp;
  version: string;
  tasks: Map<string, TaskRunner>;
  failures: number;
  nextLaunchAt: number;
  blocked?: string;
  removed: boolean;
  deployment?: Deployment;
  lastTaskFailure?: TaskFailure;
}

const live = (t: TaskRunner): boolean => t.status() === 'TASK_STAGING' || t.status() === 'TASK_RUNNING';
const taskIdFor = (appId: string): string => `${appId.slice(1).replace(/\//g, '_')}.instance-${randomUUID()}._app.1`;

/**
 * Runs Marathon apps as local processes: keeps `instances` tasks alive,
 * replaces crashed and unhealthy ones with backoff, rolls new versions,
 * tracks deployments, publishes Marathon's events, and persists apps so they
 * come back after a restart.
 */
export function createLocalCluster(init: LocalClusterInit): LocalCluster {
  const now = init.now ?? (() => new Date());
  const events = init.events ?? createEventBus(now);
  const entries = new Map<string, Entry>();
  const ports = createPortAllocator(init.portRange ?? { from: 31000, to: 32000 });
  const appsFile = join(init.stateDir, 'marathon', 'apps.json');
  const slaveId = `sip-local-agent-${randomUUID().slice(0, 8)}`;
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;
  const beforeKillHooks: Array<(task: TaskView) => Promise<void>> = [];
  const beforeKill = async (task: TaskView): Promise<void> => {
    await Promise.all(beforeKillHooks.map((h) => h(task)));
  };

  const persist = async (): Promise<void> => {
    const data = [...entries.values()].filter((e) => !e.removed).map((e) => ({ app: e.app, version: e.version }));
    await mkdir(join(init.stateDir, 'marathon'), { recursive: true });
    const tmp = `${appsFile}.tmp-${process.pid}`;
    await writeFile(tmp, JSON.stringify(data, null, 2));
    await rename(tmp, appsFile);
  };

  const docker = init.docker ?? createDockerEngine();

  const startDeployment = (e: Entry, action: DeploymentAction): Deployment => {
    if (e.deployment) events.publish('deployment_failed', { id: e.deployment.id, plan: planOf(e.deployment), reason: 'superseded by a newer deployment' });
    const d = createDeployment(e.app.id, action, e.version);
    e.deployment = d;
    events.publish('deployment_info', { plan: planOf(d), currentStep: { actions: d.currentActions.map((a) => ({ type: a.action, app: a.app })) } });
    return d;
  };

  const endDeployment = (e: Entry, ok: boolean, reason?: string): void => {
    const d = e.deployment;
    if (!d) return;
    e.deployment = undefined;
    events.publish(ok ? 'deployment_success' : 'deployment_failed', { id: d.id, plan: planOf(d), ...(reason ? { reason } : {}) });
  };

  const launch = (e: Entry): void => {
    const task = runTask(e.app, e.version, taskIdFor(e.app.id), {
      docker,
      store: init.store,
      events,
      ports,
      logger: init.logger,
      agentEnv: init.agentEnv,
      sandboxRoot: join(init.stateDir, 'sandboxes'),
      beforeKill,
      host: '127.0.0.1',
      slaveId,
      now,
    });
    e.tasks.set(task.id, task);
    void task.ended.then((end) => {
      e.tasks.delete(task.id);
      if (end.failure) {
        e.failures++;
        const delay = Math.min(e.app.backoffSeconds * e.app.backoffFactor ** (e.failures - 1), e.app.maxLaunchDelaySeconds) * 1000;
        e.nextLaunchAt = Date.now() + delay;
        e.lastTaskFailure = { appId: e.app.id, host: '127.0.0.1', message: end.message, state: end.status, taskId: task.id, timestamp: now().toISOString(), version: task.version };
      }
      if (end.blocking && task.version === e.version) {
        e.blocked = end.message;
        endDeployment(e, false, end.message);
      }
    });
  };

  const reconcile = (e: Entry): void => {
    const tasks = [...e.tasks.values()].filter(live);
    if (e.removed) {
      tasks.forEach((t) => t.kill('app removed'));
      if (e.tasks.size === 0) {
        entries.delete(e.app.id);
        endDeployment(e, true);
      }
      return;
    }
    const current = tasks.filter((t) => t.version === e.version);
    const old = tasks.filter((t) => t.version !== e.version);
    const healthy = current.filter((t) => t.healthy());
    if (healthy.length > 0) e.failures = 0;
    // One launch at a time: a task still staging (resolving its secrets) blocks the next.
    const staging = current.some((t) => t.status() === 'TASK_STAGING');
    if (!e.blocked && !staging && !stopping && current.length < e.app.instances && Date.now() >= e.nextLaunchAt) launch(e);
    if (current.length > e.app.instances) {
      const youngest = [...current].sort((a, b) => b.view().stagedAt.localeCompare(a.view().stagedAt));
      youngest.slice(0, current.length - e.app.instances).forEach((t) => t.kill('scaled down'));
    }
    const keepOld = Math.max(0, e.app.instances - healthy.length);
    old.slice(keepOld).forEach((t) => t.kill('replaced by a new version'));
    if (e.deployment && !e.blocked && old.length === 0 && current.length === e.app.instances && healthy.length === e.app.instances) endDeployment(e, true);
  };

  const view = (e: Entry, withTasks: boolean): AppView => {
    const tasks = [...e.tasks.values()];
    const running = tasks.filter((t) => t.status() === 'TASK_RUNNING');
    return {
      ...e.app,
      version: e.version,
      tasksStaged: tasks.filter((t) => t.status() === 'TASK_STAGING').length,
      tasksRunning: running.length,
      tasksHealthy: e.app.healthChecks.length ? running.filter((t) => t.healthy()).length : 0,
      tasksUnhealthy: e.app.healthChecks.length ? running.filter((t) => t.view().healthCheckResults.some((h) => !h.alive)).length : 0,
      deployments: e.deployment ? [{ id: e.deployment.id }] : [],
      ...(e.lastTaskFailure ? { lastTaskFailure: e.lastTaskFailure } : {}),
      ...(withTasks ? { tasks: tasks.map((t) => t.view()) } : {}),
    };
  };

  const entryOf = (id: string): Entry => {
    const e = entries.get(id);
    if (!e || e.removed) throw new SipError('SIP_APP_NOT_FOUND', `App '${id}' does not exist`, { expose: true });
    return e;
  };
  const newEntry = (app: ValidatedApp, version: string): Entry => ({ app, version, tasks: new Map(), failures: 0, nextLaunchAt: 0, removed: false });

  return {
    events,
    async start() {
      let saved: Array<{ app: unknown; version: string }> = [];
      try {
        saved = JSON.parse(await readFile(appsFile, 'utf8')) as typeof saved;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new SipError('SIP_STATE_INVALID', `cannot read ${appsFile}: ${(err as Error).message}`);
      }
      for (const s of saved) {
        const app = parseAppDefinition(s.app); // validated once more at this edge: the file may have been edited
        entries.set(app.id, newEntry(app, s.version));
      }
      timer = setInterval(() => entries.forEach(reconcile), init.tickMs ?? 200);
      entries.forEach(reconcile);
    },
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      const all = [...entries.values()].flatMap((e) => [...e.tasks.values()]);
      all.forEach((t) => t.kill('cluster stopping'));
      await Promise.all(all.map((t) => t.ended));
    },
    async addApp(app) {
      const existing = entries.get(app.id);
      if (existing && !existing.removed) throw new SipError('SIP_APP_EXISTS', `An app with id [${app.id}] already exists.`, { expose: true });
      const e = newEntry(app, now().toISOString());
      entries.set(app.id, e);
      await persist();
      const deployment = startDeployment(e, 'StartApplication');
      reconcile(e);
      return { app: view(e, false), deployment };
    },
    async putApp(app) {
      const existing = entries.get(app.id);
      if (!existing || existing.removed) return (await this.addApp(app)).deployment;
      // Only `instances` changed: a scale, as in Marathon — running tasks stay.
      const scaleOnly = JSON.stringify({ ...existing.app, instances: 0 }) === JSON.stringify({ ...app, instances: 0 });
      existing.app = app;
      if (!scaleOnly) existing.version = now().toISOString();
      existing.blocked = undefined;
      existing.failures = 0;
      existing.nextLaunchAt = 0;
      await persist();
      const d = startDeployment(existing, scaleOnly ? 'ScaleApplication' : 'RestartApplication');
      reconcile(existing);
      return d;
    },
    async removeApp(id) {
      const e = entryOf(id);
      e.removed = true;
      await persist();
      const d = startDeployment(e, 'StopApplication');
      reconcile(e);
      return d;
    },
    async restartApp(id) {
      const e = entryOf(id);
      e.version = now().toISOString();
      e.blocked = undefined;
      await persist();
      const d = startDeployment(e, 'RestartApplication');
      reconcile(e);
      return d;
    },
    getApp(id, withTasks = true) {
      const e = entries.get(id);
      return e && !e.removed ? view(e, withTasks) : undefined;
    },
    listApps(withTasks = false) {
      return [...entries.values()].filter((e) => !e.removed).map((e) => view(e, withTasks));
    },
    tasks(appId) {
      return [...entries.values()].filter((e) => !appId || e.app.id === appId).flatMap((e) => [...e.tasks.values()].map((t) => t.view()));
    },
    deployments() {
      return [...entries.values()].flatMap((e) => (e.deployment ? [e.deployment] : []));
    },
    onBeforeKill(hook) {
      beforeKillHooks.push(hook);
    },
  };
}
