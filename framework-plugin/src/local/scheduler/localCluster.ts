import type { LocalContainer } from '../mesos-api/server.js';
import { createAppVersions, type AppVersions } from './appVersions.js';
import { createResourceLedger, type TaskCost } from './resourceLedger.js';
import type { LocalMarathonConfig } from '../marathon-api/server.js';
import { createDockerEngine, type DockerEngine } from '../launcher/dockerTask.js';
import { randomUUID } from 'node:crypto';
import { cpus, totalmem, userInfo } from 'node:os';
import { SERVICE_PORT_RANGE } from '../../core/marathon/servicePorts.js';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SipError } from '../../core/errors/SipError.js';
import { createPortAllocator } from '../launcher/ports.js';
import type { ValidatedApp } from '../../core/marathon/appDefinition.js';
import type { SecretStore } from '../../core/secrets/SecretStore.js';
import { createDeployment, planOf, type DeploymentAction } from './deployments.js';
import { createEventBus, type EventBus } from '../../core/marathon/events.js';
import type { ApiRequest, AppView, Deployment, QueueItem, TaskFailure, TaskView } from '../../core/marathon/views.js';
import { assignServicePorts, servicePortsOf } from '../../core/marathon/servicePorts.js';
import { appIdentity, type TaskUser } from '../launcher/identity.js';
import { killAllOf } from '../launcher/userProcesses.js';
import type { Isolation } from '../launcher/isolation.js';
import { createFileAppStore, type AppStore, type StoredApp } from './appStore.js';
import { every, systemClock, type Clock, type Timer } from './clock.js';
import { backoffDelayMs, reconcile, type Action } from './reconcile.js';
import { runTask, type TaskRunner } from './taskRunner.js';
import type { Cgroups } from '../launcher/cgroups.js';
import type { DeliveryModes } from '../../delivery/deliveryMode.js';
import { deliveryModes } from './deliveryModes.js';
import { parentOf } from '../../core/marathon/groups.js';
import { MarathonValidationError } from '../../core/marathon/validationError.js';

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
  /** Time for backoff, health checks and the reconcile tick. Default: the system clock. */
  clock?: Clock;
  /**
   * Whether tasks run under their own users (one per app, sandbox 0700,
   * secrets 0400 theirs). When not, apps with secrets are refused unless
   * `insecure` says the operator accepts tasks sharing one identity.
   */
  isolation: Isolation;
  /** Where apps are persisted. Default: `<stateDir>/marathon/apps.json`. */
  appStore?: AppStore;
  /** Reconcile interval, ms. Default 200. */
  tickMs?: number;
  /** Runs DOCKER apps. Default: the `docker` CLI ({@link createDockerEngine}). */
  docker?: DockerEngine;
  /** Label value (`sip.cluster`) on this cluster's containers, so a restart after a crash finds exactly them. */
  clusterLabel?: string;
  /**
   * What the local agent offers, as a Mesos agent advertises its resources:
   * a task launches only when its app's `cpus` and `mem` fit what running
   * tasks leave. Default: 4 × this machine's cores (at least 8; one machine
   * stands in for an agent, so CPU is overcommitted) and its memory.
   */
  resources?: { cpus: number; mem: number };
  /** At most this many tasks at once, whatever they ask for (an app of `cpus: 0, mem: 0` cannot launch without end). Default 256. */
  maxTasks?: number;
  /** Per-task cgroups (Mesos's naming); absent or unavailable: tasks run without. */
  cgroups?: Cgroups;
  /** How each app's tasks get their credentials; default: the file mode for every app. */
  delivery?: DeliveryModes;
}

/** Host ports a task of `app` takes. */
const portCount = (app: ValidatedApp): number => Math.max(app.portDefinitions?.length ?? 0, app.container?.portMappings?.length ?? 0);

/** The Marathon-like scheduler of the local cluster. */
export interface LocalCluster {
  readonly events: EventBus;
  /** The framework id its tasks run under ({@link FRAMEWORK_ID}). */
  readonly frameworkId: string;
  /** What it is configured with (`/v2/info`). */
  configuration(): LocalMarathonConfig;
  /** Loads persisted apps and starts reconciling. */
  start(): Promise<void>;
  /** Kills every task (apps stay persisted). */
  stop(): Promise<void>;
  /** @throws SipError `SIP_APP_EXISTS` */
  addApp(app: ValidatedApp, request?: ApiRequest): Promise<{ app: AppView; deployment: Deployment }>;
  /** Creates or replaces (new version; a change of `instances` alone is a scale, tasks stay). */
  putApp(app: ValidatedApp, request?: ApiRequest): Promise<Deployment>;
  /** @throws SipError `SIP_APP_NOT_FOUND` */
  removeApp(id: string, request?: ApiRequest): Promise<Deployment>;
  /** @throws SipError `SIP_APP_NOT_FOUND` */
  restartApp(id: string, request?: ApiRequest): Promise<Deployment>;
  /**
   * Kills tasks of an app. With `scale`, `instances` drops by as many (a
   * deployment); without, the tasks are replaced as any lost task.
   * @throws SipError `SIP_APP_NOT_FOUND`, `SIP_TASK_NOT_FOUND` (a task not of this app; nothing is killed)
   */
  killTasks(appId: string, taskIds: readonly string[], opts: { scale: boolean }): Promise<{ tasks: TaskView[] } | { deployment: Deployment }>;
  /** Every version of an app, newest first (scaling included). @throws SipError `SIP_APP_NOT_FOUND` */
  versions(id: string): string[];
  /** The definition an app had at `version`, or undefined. */
  appAt(id: string, version: string): AppView | undefined;
  /** Apps waiting for launches. */
  queue(): QueueItem[];
  /**
   * Ends a running deployment: with `force`, stops it where it is; without,
   * reverts its app to the version before it (a new deployment; an app the
   * deployment created is removed). @throws SipError `SIP_DEPLOYMENT_NOT_FOUND`
   */
  cancelDeployment(id: string, force: boolean): Promise<Deployment | undefined>;
  getApp(id: string, withTasks?: boolean): AppView | undefined;
  listApps(withTasks?: boolean): AppView[];
  tasks(appId?: string): TaskView[];
  deployments(): Deployment[];
  /** Registers a hook run before a task is signalled to stop (after TASK_KILLING). */
  onBeforeKill(hook: (task: TaskView) => Promise<void>): void;
  /** The OS processes of live tasks (process-group leaders), for crash recovery. */
  processes(): Array<{ taskId: string; pid: number }>;
  /** Live tasks' Mesos containers, as the agent operator API's `GET_CONTAINERS` lists them. */
  containers(): LocalContainer[];
  /** This agent's Mesos id, as tasks name it (`slaveId`). */
  readonly agentId: string;
}

interface Entry {
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
  waitingSince?: string;
  tasks: Map<string, TaskRunner>;
  failures: number;
  nextLaunchAt: number;
  blocked?: string;
  removed: boolean;
  deployment?: Deployment;
  lastTaskFailure?: TaskFailure;
  /** The app's own user and group: every task of the app runs as it. */
  user: TaskUser;
}

/** JSON with object keys sorted at every level: two definitions that differ only in key order are the same. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );

/** The framework id the local Marathon reports (`/v2/info`, `GET_CONTAINERS`). */
export const FRAMEWORK_ID = 'sip-local-framework';
/** Versions kept per app (Marathon's `zk_max_versions` default). */
const MAX_VERSIONS = 50;

/** The latest version of an app: its last change, scaling included. */
const latest = (e: Entry): string => (e.lastScalingAt > e.version ? e.lastScalingAt : e.version);
/** The `currentStep` object of deployment events. */
const currentStepOf = (d: Deployment): { actions: Array<{ type: string; app: string }> } => ({
  actions: d.currentActions.map((a) => ({ type: a.action, app: a.app })),
});

const taskIdFor = (appId: string): string => `${appId.slice(1).replace(/\//g, '_')}.instance-${randomUUID()}._app.1`;

/**
 * Runs Marathon apps as local processes: keeps `instances` tasks alive,
 * replaces crashed and unhealthy ones with backoff, rolls new versions,
 * tracks deployments, publishes Marathon's events, and persists apps so they
 * come back after a restart.
 */
export function createLocalCluster(init: LocalClusterInit): LocalCluster {
  const clock = init.clock ?? systemClock;
  const now = (): Date => clock.now();
  const events = init.events ?? createEventBus(now);
  const entries = new Map<string, Entry>();
  const portRange = init.portRange ?? { from: 31000, to: 32000 };
  // Without a credential agent: file mode by default, and an endpoint-mode app is refused with the reason.
  const delivery: DeliveryModes = init.delivery ?? deliveryModes({ defaultMode: 'file', metadataClosed: false, endpoint: { docker: false } });
  const ports = createPortAllocator(portRange);
  const offered = init.resources ?? { cpus: Math.max(8, cpus().length * 4), mem: Math.floor(totalmem() / 1024 / 1024) };
  const maxTasks = init.maxTasks ?? 256;
  // What live tasks hold (each task's cost as launched), against what the agent offers.
  const ledger = createResourceLedger({ ...offered, ports: portRange.to - portRange.from + 1, tasks: maxTasks });
  const costOf = (app: ValidatedApp): TaskCost => ({ cpus: app.cpus, mem: app.mem, ports: portCount(app) });
  const hold = (taskId: string, app: ValidatedApp): void => ledger.hold(taskId, costOf(app));
  const release = (taskId: string): void => ledger.release(taskId);
  /** Whether one more task of `app` fits what the agent has left (cpus, mem, ports, and a cap on tasks). */
  const fits = (app: ValidatedApp): boolean => ledger.fits(costOf(app));
  const store = init.appStore ?? createFileAppStore(join(init.stateDir, 'marathon', 'apps.json'));
  const slaveId = `sip-local-agent-${randomUUID().slice(0, 8)}`;
  let timer: Timer | undefined;
  let stopping = false;
  const beforeKillHooks: Array<(task: TaskView) => Promise<void>> = [];
  const beforeKill = async (task: TaskView): Promise<void> => {
    await Promise.all(beforeKillHooks.map((h) => h(task)));
  };

  /**
   * Saves the apps as they will be after a change, before the change is
   * applied: a failed save changes nothing and launches nothing.
   */
  const saveWith = (change: { set: StoredApp } | { remove: string }): Promise<void> => {
    const apps = [...entries.values()].filter((e) => !e.removed).map((e) => ({ app: e.app, version: e.version, uid: e.user.uid }));
    const id = 'set' in change ? change.set.app.id : change.remove;
    const kept = apps.filter((a) => a.app.id !== id);
    return store.save('set' in change ? [...kept, change.set] : kept);
  };
  // Changes run one at a time: a check and the save it guards are never interleaved with another change.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  const docker = init.docker ?? createDockerEngine();

  /**
   * Marathon's order for a change: `api_post_event` (when an API request made
   * it), `group_change_success`, then `deployment_info`, before any task moves.
   */
  const startDeployment = (e: Entry, action: DeploymentAction, request: ApiRequest | undefined, before: Entry['before']): Deployment => {
    if (request) events.publish('api_post_event', { clientIp: request.clientIp, uri: request.uri, appDefinition: view(e, false) });
    events.publish('group_change_success', { groupId: parentOf(e.app.id), version: latest(e) });
    if (e.deployment) {
      const old = e.deployment;
      events.publish('deployment_step_failure', { plan: planOf(old), currentStep: currentStepOf(old) });
      events.publish('deployment_failed', { id: old.id, plan: planOf(old), reason: 'superseded by a newer deployment' });
    }
    // A rollback of this deployment returns to what was there just before it (nothing: it created the app).
    e.before = before;
    const d = createDeployment(e.app.id, action, latest(e));
    e.deployment = d;
    events.publish('deployment_info', { plan: planOf(d), currentStep: currentStepOf(d) });
    return d;
  };

  const endDeployment = (e: Entry, ok: boolean, reason?: string): void => {
    const d = e.deployment;
    if (!d) return;
    e.deployment = undefined;
    e.before = undefined;
    events.publish(ok ? 'deployment_step_success' : 'deployment_step_failure', { plan: planOf(d), currentStep: currentStepOf(d) });
    events.publish(ok ? 'deployment_success' : 'deployment_failed', { id: d.id, plan: planOf(d), ...(reason ? { reason } : {}) });
  };

  const launch = (e: Entry): void => {
    const task = runTask(e.app, e.version, taskIdFor(e.app.id), e.user, {
      isolation: init.isolation,
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
      clock,
      ...(init.clusterLabel ? { clusterLabel: init.clusterLabel } : {}),
      ...(init.cgroups ? { cgroups: init.cgroups } : {}),
      delivery,
    });
    e.tasks.set(task.id, task);
    hold(task.id, e.app);
    void task.ended.then((end) => {
      e.tasks.delete(task.id);
      release(task.id);
      // The app's last task is gone: nothing may keep running under its user (a task may have escaped its group).
      if (init.isolation.enabled && e.tasks.size === 0) {
        const stray = killAllOf(e.user.uid);
        if (stray > 0) init.logger.warn({ appId: e.app.id, uid: e.user.uid, killed: stray }, "killed processes left running under the app's user");
      }
      if (end.failure) {
        e.failures++;
        e.nextLaunchAt = clock.now().getTime() + backoffDelayMs(e.app, e.failures);
        e.lastTaskFailure = {
          appId: e.app.id,
          host: '127.0.0.1',
          message: end.message,
          state: end.status,
          taskId: task.id,
          timestamp: now().toISOString(),
          version: task.version,
        };
      }
      if (end.blocking && task.version === e.version) {
        e.blocked = end.message;
        endDeployment(e, false, end.message);
      }
    });
  };

  /** One reconcile step for one app: the pure decision, then its actions applied. */
  const step = (e: Entry): void => {
    const observed = [...e.tasks.values()].map((t) => ({ id: t.id, version: t.version, status: t.status(), healthy: t.healthy(), stagedAt: t.stagedAt }));
    const state = {
      instances: e.app.instances,
      version: e.version,
      removed: e.removed,
      blocked: e.blocked !== undefined,
      nextLaunchAt: e.nextLaunchAt,
      deploymentOpen: e.deployment !== undefined,
      stopping,
      fits: fits(e.app),
    };
    for (const action of reconcile(state, observed, clock.now().getTime())) apply(e, action);
  };
  const apply = (e: Entry, action: Action): void => {
    switch (action.kind) {
      case 'launch':
        return launch(e);
      case 'kill':
        return e.tasks.get(action.taskId)?.kill(action.reason);
      case 'reset-failures':
        e.failures = 0;
        return;
      case 'deployment-succeeded':
        return endDeployment(e, true);
      case 'forget':
        entries.delete(e.app.id);
        events.publish('app_terminated_event', { appId: e.app.id });
        return;
    }
  };

  const view = (e: Entry, withTasks: boolean): AppView => {
    const tasks = [...e.tasks.values()];
    const running = tasks.filter((t) => t.status() === 'TASK_RUNNING');
    return {
      ...e.app,
      version: latest(e),
      versionInfo: { lastScalingAt: e.lastScalingAt, lastConfigChangeAt: e.version },
      tasksStaged: tasks.filter((t) => t.status() === 'TASK_STAGING').length,
      tasksRunning: running.length,
      tasksHealthy: e.app.healthChecks.length ? running.filter((t) => t.healthy()).length : 0,
      tasksUnhealthy: e.app.healthChecks.length ? running.filter((t) => t.view().healthCheckResults.some((h) => !h.alive)).length : 0,
      deployments: e.deployment ? [{ id: e.deployment.id }] : [],
      ...(e.lastTaskFailure ? { lastTaskFailure: e.lastTaskFailure } : {}),
      ...(withTasks ? { tasks: tasks.map((t) => t.view()) } : {}),
    };
  };
  /** Records a version (bounded, as Marathon's `zk_max_versions`). */
  const remember = (e: Entry, version: string): void => {
    e.history.record(version, e.app);
  };
  /** The app with Marathon's ports: the default port definition, service ports for port 0. */
  const withPorts = (app: ValidatedApp, previous?: ValidatedApp): ValidatedApp => {
    const taken = new Set([...entries.values()].filter((o) => o.app.id !== app.id && !o.removed).flatMap((o) => servicePortsOf(o.app)));
    const filled = assignServicePorts(app, taken, previous);
    if (filled.ok) return filled.app;
    if (filled.problem.kind === 'exhausted') throw new SipError('SIP_PORTS_EXHAUSTED', filled.problem.message, { expose: true });
    throw new MarathonValidationError(422, [{ path: filled.problem.path ?? '/portDefinitions', errors: [filled.problem.message] }]);
  };
  /** A version stamp later than every earlier one of the app (two changes in one millisecond stay ordered). */
  const stamp = (e?: Entry): string => {
    return e ? e.history.stampAfter(now(), latest(e)) : now().toISOString();
  };

  const entryOf = (id: string): Entry => {
    const e = entries.get(id);
    if (!e || e.removed) throw new SipError('SIP_APP_NOT_FOUND', `App '${id}' does not exist`, { expose: true });
    return e;
  };
  /** A new entry with its own user: the persisted one when it is still free, else a fresh one no other app holds. */
  const newEntry = (app: ValidatedApp, version: string, uid?: number): Entry => {
    // Removed apps still draining keep their user: no new app may get it while their processes live.
    const taken = new Set([...entries.values()].filter((e) => e.app.id !== app.id).map((e) => e.user.uid));
    return {
      app,
      version,
      lastScalingAt: version,
      history: createAppVersions({ version, app }, MAX_VERSIONS),
      tasks: new Map(),
      failures: 0,
      nextLaunchAt: 0,
      removed: false,
      user: appIdentity(app.id, taken, uid),
    };
  };
  /**
   * Gives an app a new definition: saved first, then a new version (a scale
   * keeps the version its tasks run) and the deployment that rolls it out.
   */
  /** Refuses, before anything is saved, an endpoint-mode app that would receive an AWS config (422, as Marathon's validation). */
  const admit = async (app: ValidatedApp): Promise<void> => {
    const why = await delivery.modeOf(app).admission?.(app, init.store);
    if (why) throw new MarathonValidationError(422, [{ path: '/secrets', errors: [why] }]);
  };
  const replace = async (e: Entry, app: ValidatedApp, scaleOnly: boolean, request: ApiRequest | undefined, before: Entry['before']): Promise<Deployment> => {
    const version = stamp(e);
    await saveWith({ set: { app, version: scaleOnly ? e.version : version, uid: e.user.uid } });
    e.removed = false;
    e.app = app;
    if (scaleOnly) e.lastScalingAt = version;
    else e.version = e.lastScalingAt = version;
    remember(e, version);
    e.blocked = undefined;
    e.failures = 0;
    e.nextLaunchAt = 0;
    const d = startDeployment(e, scaleOnly ? 'ScaleApplication' : 'RestartApplication', request, before);
    step(e);
    return d;
  };
  /** Adds an app: saved first; only a saved app gets tasks. */
  const add = async (given: ValidatedApp, request?: ApiRequest): Promise<{ app: AppView; deployment: Deployment }> => {
    const existing = entries.get(given.id);
    if (existing && !existing.removed) throw new SipError('SIP_APP_EXISTS', `An app with id [${given.id}] already exists.`, { expose: true });
    // Still stopping: its tasks (and its user) are alive; a new app of that id waits, as Marathon's lock makes it.
    if (existing)
      throw new SipError(
        'SIP_APP_EXISTS',
        `App '${given.id}' is being removed and its tasks are still stopping (deployment ${existing.deployment?.id ?? '-'}); add it again once it is gone.`,
        { expose: true },
      );
    const clash = [...entries.values()].find((o) => !o.removed && (o.app.id.startsWith(`${given.id}/`) || given.id.startsWith(`${o.app.id}/`)));
    if (clash)
      throw new MarathonValidationError(422, [
        { path: '/id', errors: [`${given.id} and the app ${clash.app.id} cannot both exist: an app id cannot also be a group of apps`] },
      ]);
    const app = withPorts(given);
    const e = newEntry(app, stamp());
    await saveWith({ set: { app, version: e.version, uid: e.user.uid } });
    entries.set(app.id, e);
    const deployment = startDeployment(e, 'StartApplication', request, undefined);
    step(e);
    return { app: view(e, false), deployment };
  };

  return {
    events,
    async start() {
      for (const s of await store.load()) entries.set(s.app.id, newEntry(s.app, s.version, s.uid));
      timer = every(clock, init.tickMs ?? 200, () => entries.forEach(step));
      entries.forEach(step);
    },
    async stop() {
      stopping = true;
      timer?.cancel();
      const all = [...entries.values()].flatMap((e) => [...e.tasks.values()]);
      all.forEach((t) => t.kill('cluster stopping'));
      await Promise.all(all.map((t) => t.ended));
    },
    async addApp(app, request) {
      await admit(app);
      return serial(() => add(app, request));
    },
    async putApp(given, request) {
      await admit(given);
      return serial(async () => {
        const existing = entries.get(given.id);
        if (!existing || existing.removed) return (await add(given, request)).deployment;
        const app = withPorts(given, existing.app);
        // Only `instances` changed: a scale, as in Marathon — running tasks stay.
        const scaleOnly = canonical({ ...existing.app, instances: 0 }) === canonical({ ...app, instances: 0 });
        return replace(existing, app, scaleOnly, request, { app: existing.app, version: existing.version });
      });
    },
    removeApp(id, request) {
      return serial(async () => {
        const e = entryOf(id);
        await saveWith({ remove: id });
        e.removed = true;
        const d = startDeployment(e, 'StopApplication', request, { app: e.app, version: e.version });
        step(e);
        return d;
      });
    },
    restartApp(id, request) {
      return serial(async () => {
        const e = entryOf(id);
        const version = stamp(e);
        await saveWith({ set: { app: e.app, version, uid: e.user.uid } });
        const before = { app: e.app, version: e.version };
        e.version = e.lastScalingAt = version;
        remember(e, version);
        e.blocked = undefined;
        const d = startDeployment(e, 'RestartApplication', request, before);
        step(e);
        return d;
      });
    },
    killTasks(appId, taskIds, opts) {
      return serial(async () => {
        const e = entryOf(appId);
        const tasks = taskIds.map((id) => e.tasks.get(id));
        const missing = taskIds.find((_, i) => !tasks[i]);
        if (missing !== undefined) throw new SipError('SIP_TASK_NOT_FOUND', `Task '${missing}' does not exist`, { expose: true });
        const live = tasks.filter((t): t is TaskRunner => t !== undefined && (t.status() === 'TASK_STAGING' || t.status() === 'TASK_RUNNING'));
        if (!opts.scale) {
          const views = tasks.map((t) => t!.view());
          live.forEach((t) => t.kill('killed by request'));
          return { tasks: views };
        }
        // Scale down by the killed tasks: these tasks, not the youngest, go.
        const app = { ...e.app, instances: Math.max(0, e.app.instances - live.length) } as ValidatedApp;
        const version = stamp(e);
        await saveWith({ set: { app, version: e.version, uid: e.user.uid } });
        const before = { app: e.app, version: e.version };
        e.app = app;
        e.lastScalingAt = version;
        remember(e, version);
        live.forEach((t) => t.kill('killed by request (scale)'));
        const deployment = startDeployment(e, 'ScaleApplication', undefined, before);
        step(e);
        return { deployment };
      });
    },
    versions(id) {
      return entryOf(id).history.list();
    },
    appAt(id, version) {
      const e = entries.get(id);
      const at = e && !e.removed ? e.history.at(version) : undefined;
      if (!e || !at) return undefined;
      return { ...view(e, false), ...at, version };
    },
    queue() {
      const t = clock.now().getTime();
      return [...entries.values()]
        .filter((e) => !e.removed)
        .flatMap((e): QueueItem[] => {
          const current = [...e.tasks.values()].filter(
            (x) => x.version === e.version && (x.status() === 'TASK_STAGING' || x.status() === 'TASK_RUNNING'),
          ).length;
          const count = e.app.instances - current;
          if (count <= 0) {
            e.waitingSince = undefined;
            return [];
          }
          e.waitingSince ??= now().toISOString();
          const left = Math.max(0, Math.ceil((e.nextLaunchAt - t) / 1000));
          const reason = e.blocked ?? (left > 0 ? 'backing off after failures' : fits(e.app) ? undefined : 'the agent has no room left (cpus, mem or ports)');
          return [
            {
              app: view(e, false),
              count,
              role: '*',
              delay: { timeLeftSeconds: left, overdue: left === 0 },
              since: e.waitingSince,
              processedOffersSummary: { processedOffersCount: 0, unusedOffersCount: 0 },
              ...(reason ? { lastUnusedOfferReason: reason } : {}),
            },
          ];
        });
    },
    cancelDeployment(id, force) {
      return serial(async () => {
        const e = [...entries.values()].find((x) => x.deployment?.id === id);
        if (!e?.deployment) throw new SipError('SIP_DEPLOYMENT_NOT_FOUND', `DeploymentPlan ${id} does not exist`, { expose: true });
        const before = e.before;
        // Its service ports may have gone to another app meanwhile: a rollback that would share one is refused before anything changes.
        const restored = before && !force ? withPorts(before.app, before.app) : undefined;
        if (force) {
          // Stopped where it is: no rollback, the app keeps its new definition.
          endDeployment(e, false, 'canceled by request (force)');
          return undefined;
        }
        endDeployment(e, false, 'rolled back by request');
        if (!before) {
          // The deployment created the app: rolling back removes it.
          await saveWith({ remove: e.app.id });
          e.removed = true;
          const d = startDeployment(e, 'StopApplication', undefined, undefined);
          step(e);
          return d;
        }
        // A rollback can itself be rolled back: to the definition it replaced.
        return replace(e, restored!, before.version === e.version, undefined, { app: e.app, version: e.version });
      });
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
    processes() {
      return [...entries.values()].flatMap((e) => [...e.tasks.values()].flatMap((t) => (t.pid() ? [{ taskId: t.id, pid: t.pid()! }] : [])));
    },
    containers() {
      return [...entries.values()].flatMap((e) =>
        [...e.tasks.values()]
          .filter((t) => t.status() === 'TASK_RUNNING' || t.status() === 'TASK_KILLING')
          .map((t) => ({
            containerId: t.containerId,
            taskId: t.id,
            frameworkId: FRAMEWORK_ID,
            directory: t.sandbox,
            ...(e.app.cmd ? { command: e.app.cmd } : {}),
            ...(t.pid() ? { pid: t.pid()! } : {}),
          })),
      );
    },
    agentId: slaveId,
    frameworkId: FRAMEWORK_ID,
    configuration: () => ({
      frameworkId: FRAMEWORK_ID,
      agentId: slaveId,
      stateDir: init.stateDir,
      servicePorts: { ...SERVICE_PORT_RANGE },
      hostPorts: { ...portRange },
      tasksUser: init.isolation.enabled ? 'one user per app (uid 2000000 and up)' : (userInfo().username ?? String(process.getuid?.() ?? '')),
      reconcileIntervalMs: init.tickMs ?? 200,
      maxVersions: MAX_VERSIONS,
      resources: { cpus: offered.cpus, mem: offered.mem },
      credentialsMode: delivery.defaultMode,
    }),
    onBeforeKill(hook) {
      beforeKillHooks.push(hook);
    },
  };
}
