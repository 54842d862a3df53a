import type { LocalContainer } from '../mesos-api/server.js';
import { appView, latestVersion, MAX_VERSIONS, newAppEntry, queueItemOf, type AppEntry } from './appEntry.js';
import type { TaskCost } from './resourceLedger.js';
import { agentSlots, placeTask, type AgentSlot, type LocalAgentSpec } from './placement.js';
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
import { endDeployment, startDeployment, type DeploymentAction } from './deployments.js';
import { createEventBus, type EventBus } from '../../core/marathon/events.js';
import type { ApiRequest, AppView, Deployment, QueueItem, TaskView } from '../../core/marathon/views.js';
import { assignServicePorts, servicePortsOf } from '../../core/marathon/servicePorts.js';
import { appIdentity } from '../launcher/identity.js';
import { killAllOf } from '../launcher/userProcesses.js';
import type { Isolation } from '../launcher/isolation.js';
import { createFileAppStore, type AppStore, type StoredApp } from './appStore.js';
import { every, systemClock, type Clock, type Timer } from './clock.js';
import { backoffDelayMs, reconcile, type Action } from './reconcile.js';
import { runTask, type TaskEnd, type TaskRunner } from './taskRunner.js';
import type { Cgroups } from '../launcher/cgroups.js';
import type { DeliveryModes } from '../../delivery/deliveryMode.js';
import { deliveryModes } from './deliveryModes.js';
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
  /**
   * The agents tasks are placed on (each offers `resources`), honouring the
   * apps' constraints. Default: one agent on 127.0.0.1 with `cgroups`.
   */
  agents?: ReadonlyArray<Omit<LocalAgentSpec, 'id'> & { id?: string }>;
}

/** An agent of the local cluster as the operator sees it. */
export interface LocalAgentView {
  readonly id: string;
  readonly hostname: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** Removed (`sip cluster agent kill`): its tasks were lost, nothing is placed on it. */
  readonly gone: boolean;
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
  /** Live tasks' Mesos containers (on one agent, by its id), as the agent operator API's `GET_CONTAINERS` lists them. */
  containers(agentId?: string): LocalContainer[];
  /** The agents, in order (agent 1 first). */
  agents(): LocalAgentView[];
  /**
   * An agent is gone: its tasks die at once and end `TASK_LOST`, nothing is
   * placed on it again, and the apps' tasks are replaced on the others.
   * @throws SipError `SIP_AGENT_NOT_FOUND`
   */
  removeAgent(agentId: string, reason: string): Promise<LocalAgentView>;
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

const taskIdFor = (appId: string): string => `${appId.slice(1).replace(/\//g, '_')}.instance-${randomUUID()}._app.1`;

/**
 * Runs Marathon apps as local processes: keeps `instances` tasks alive,
 * replaces crashed and unhealthy ones with backoff, rolls new versions,
 * tracks deployments, publishes Marathon's events, and persists apps so they
 * come back after a restart.
 */
export function createLocalCluster(init: LocalClusterInit): LocalCluster {
  return new Scheduler(init);
}

/** The local cluster's scheduler: its apps (entries), the agent's resources, the change queue; one method per operation. */
class Scheduler implements LocalCluster {
  readonly events: EventBus;
  readonly frameworkId = FRAMEWORK_ID;
  /** The agents, each with what its tasks hold. */
  private readonly slots: AgentSlot[];
  /** Where each live task is. */
  private readonly placedOn = new Map<string, AgentSlot>();
  private readonly entries = new Map<string, AppEntry>();
  private readonly clock: Clock;
  private readonly portRange: { from: number; to: number };
  private readonly ports: ReturnType<typeof createPortAllocator>;
  private readonly offered: { cpus: number; mem: number };
  private readonly delivery: DeliveryModes;
  private readonly store: AppStore;
  private readonly docker: DockerEngine;
  private readonly beforeKillHooks: Array<(task: TaskView) => Promise<void>> = [];
  private timer: Timer | undefined;
  private stopping = false;
  // Changes run one at a time: a check and the save it guards are never interleaved with another change.
  private changes: Promise<unknown> = Promise.resolve();

  constructor(private readonly init: LocalClusterInit) {
    this.clock = init.clock ?? systemClock;
    this.events = init.events ?? createEventBus(() => this.clock.now());
    this.portRange = init.portRange ?? { from: 31000, to: 32000 };
    // Without a credential agent: file mode by default, and an endpoint-mode app is refused with the reason.
    this.delivery = init.delivery ?? deliveryModes({ defaultMode: 'file', metadataClosed: false, endpoint: { docker: false } });
    this.ports = createPortAllocator(this.portRange);
    this.offered = init.resources ?? { cpus: Math.max(8, cpus().length * 4), mem: Math.floor(totalmem() / 1024 / 1024) };
    // What live tasks hold (each task's cost as launched), against what each agent offers. Agent ids as Mesos
    // gives them: the master's id, then `-S<n>`.
    const master = randomUUID();
    const specs = (init.agents ?? [{ hostname: '127.0.0.1', attributes: {}, ...(init.cgroups ? { cgroups: init.cgroups } : {}) }]).map((a, i) => ({
      ...a,
      id: a.id ?? `${master}-S${i}`,
    }));
    this.slots = agentSlots(specs, { ...this.offered, ports: this.portRange.to - this.portRange.from + 1, tasks: init.maxTasks ?? 256 });
    this.store = init.appStore ?? createFileAppStore(join(init.stateDir, 'marathon', 'apps.json'));
    this.docker = init.docker ?? createDockerEngine();
  }

  private now = (): Date => this.clock.now();
  private costOf = (app: ValidatedApp): TaskCost => ({ cpus: app.cpus, mem: app.mem, ports: portCount(app) });
  /** The agent the next task of an app goes to (room for it, its constraints met), or none: it waits. */
  private placeFor = (e: AppEntry): AgentSlot | undefined =>
    placeTask(
      e.app,
      this.costOf(e.app),
      [...e.tasks.keys()].flatMap((id) => this.placedOn.get(id)?.spec ?? []),
      this.slots,
    );
  private live = (): AppEntry[] => [...this.entries.values()].filter((e) => !e.removed);

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.changes.then(fn, fn);
    this.changes = run.catch(() => undefined);
    return run;
  }

  /** Saves the apps as they will be after a change, before the change is applied: a failed save changes nothing and launches nothing. */
  private saveWith(change: { set: StoredApp } | { remove: string }): Promise<void> {
    const id = 'set' in change ? change.set.app.id : change.remove;
    const kept = this.live()
      .map((e) => ({ app: e.app, version: e.version, uid: e.user.uid }))
      .filter((a) => a.app.id !== id);
    return this.store.save('set' in change ? [...kept, change.set] : kept);
  }

  private launch(e: AppEntry): void {
    const { init } = this;
    const slot = this.placeFor(e);
    if (!slot) return;
    const agent = slot.spec;
    const task = runTask(e.app, e.version, taskIdFor(e.app.id), e.user, {
      isolation: init.isolation,
      docker: this.docker,
      store: init.store,
      events: this.events,
      ports: this.ports,
      logger: init.logger,
      agentEnv: { ...init.agentEnv, ...agent.env },
      sandboxRoot: join(init.stateDir, 'sandboxes'),
      beforeKill: async (t) => void (await Promise.all(this.beforeKillHooks.map((h) => h(t)))),
      host: agent.hostname,
      slaveId: agent.id,
      clock: this.clock,
      ...(init.clusterLabel ? { clusterLabel: init.clusterLabel } : {}),
      ...(agent.cgroups ? { cgroups: agent.cgroups } : {}),
      delivery: agent.delivery ?? this.delivery,
    });
    e.tasks.set(task.id, task);
    this.placedOn.set(task.id, slot);
    slot.ledger.hold(task.id, this.costOf(e.app));
    void task.ended.then((end) => this.taskEnded(e, task, end));
  }

  /** A task's end: its resources back, strays of the app's user killed, failures counted, a blocking refusal ends the deployment. */
  private taskEnded(e: AppEntry, task: TaskRunner, end: TaskEnd): void {
    e.tasks.delete(task.id);
    const slot = this.placedOn.get(task.id);
    this.placedOn.delete(task.id);
    slot?.ledger.release(task.id);
    // The app's last task is gone: nothing may keep running under its user (a task may have escaped its group).
    if (this.init.isolation.enabled && e.tasks.size === 0) {
      const stray = killAllOf(e.user.uid);
      if (stray > 0) this.init.logger.warn({ appId: e.app.id, uid: e.user.uid, killed: stray }, "killed processes left running under the app's user");
    }
    if (end.failure) {
      e.failures++;
      e.nextLaunchAt = this.clock.now().getTime() + backoffDelayMs(e.app, e.failures);
      const failure = { appId: e.app.id, host: slot?.spec.hostname ?? '', message: end.message, state: end.status, taskId: task.id };
      e.lastTaskFailure = { ...failure, timestamp: this.now().toISOString(), version: task.version };
    }
    if (end.blocking && task.version === e.version) {
      e.blocked = end.message;
      endDeployment(this.events, e, false, end.message);
    }
  }

  /** One reconcile step for one app: the pure decision, then its actions applied. */
  private step = (e: AppEntry): void => {
    const observed = [...e.tasks.values()].map((t) => ({ id: t.id, version: t.version, status: t.status(), healthy: t.healthy(), stagedAt: t.stagedAt }));
    const state = {
      instances: e.app.instances,
      version: e.version,
      removed: e.removed,
      blocked: e.blocked !== undefined,
      nextLaunchAt: e.nextLaunchAt,
      deploymentOpen: e.deployment !== undefined,
      stopping: this.stopping,
      fits: this.placeFor(e) !== undefined,
    };
    for (const action of reconcile(state, observed, this.clock.now().getTime())) this.apply(e, action);
  };

  private apply(e: AppEntry, action: Action): void {
    switch (action.kind) {
      case 'launch':
        return this.launch(e);
      case 'kill':
        return e.tasks.get(action.taskId)?.kill(action.reason);
      case 'reset-failures':
        e.failures = 0;
        return;
      case 'deployment-succeeded':
        return endDeployment(this.events, e, true);
      case 'forget':
        this.entries.delete(e.app.id);
        this.events.publish('app_terminated_event', { appId: e.app.id });
        return;
    }
  }

  /** The app with Marathon's ports: the default port definition, service ports for port 0. */
  private withPorts(app: ValidatedApp, previous?: ValidatedApp): ValidatedApp {
    const taken = new Set(
      this.live()
        .filter((o) => o.app.id !== app.id)
        .flatMap((o) => servicePortsOf(o.app)),
    );
    const filled = assignServicePorts(app, taken, previous);
    if (filled.ok) return filled.app;
    if (filled.problem.kind === 'exhausted') throw new SipError('SIP_PORTS_EXHAUSTED', filled.problem.message, { expose: true });
    throw new MarathonValidationError(422, [{ path: filled.problem.path ?? '/portDefinitions', errors: [filled.problem.message] }]);
  }

  /** A version stamp later than every earlier one of the app (two changes in one millisecond stay ordered). */
  private stamp(e?: AppEntry): string {
    return e ? e.history.stampAfter(this.now(), latestVersion(e)) : this.now().toISOString();
  }

  private entryOf(id: string): AppEntry {
    const e = this.entries.get(id);
    if (!e || e.removed) throw new SipError('SIP_APP_NOT_FOUND', `App '${id}' does not exist`, { expose: true });
    return e;
  }

  /** A new entry with its own user: the persisted one when it is still free, else a fresh one no other app holds. */
  private newEntry(app: ValidatedApp, version: string, uid?: number): AppEntry {
    // Removed apps still draining keep their user: no new app may get it while their processes live.
    const taken = new Set([...this.entries.values()].filter((e) => e.app.id !== app.id).map((e) => e.user.uid));
    return newAppEntry(app, version, appIdentity(app.id, taken, uid));
  }

  /** Refuses, before anything is saved, an app its delivery mode would not admit (an endpoint-mode app receiving an AWS config): 422. */
  private async admit(app: ValidatedApp): Promise<void> {
    const why = await this.delivery.modeOf(app).admission?.(app, this.init.store);
    if (why) throw new MarathonValidationError(422, [{ path: '/secrets', errors: [why] }]);
  }

  /** Gives an app a new definition: saved first, then a new version (a scale keeps the version its tasks run) and the deployment that rolls it out. */
  private async replace(e: AppEntry, app: ValidatedApp, scaleOnly: boolean, request: ApiRequest | undefined, before: AppEntry['before']): Promise<Deployment> {
    const version = this.stamp(e);
    await this.saveWith({ set: { app, version: scaleOnly ? e.version : version, uid: e.user.uid } });
    e.removed = false;
    e.app = app;
    if (scaleOnly) e.lastScalingAt = version;
    else e.version = e.lastScalingAt = version;
    e.history.record(version, e.app);
    e.blocked = undefined;
    e.failures = 0;
    e.nextLaunchAt = 0;
    return this.deploy(e, scaleOnly ? 'ScaleApplication' : 'RestartApplication', request, before);
  }

  /** Opens a deployment and takes the first reconcile step at once. */
  private deploy(e: AppEntry, action: DeploymentAction, request: ApiRequest | undefined, before: AppEntry['before']): Deployment {
    const d = startDeployment(this.events, e, action, request, before);
    this.step(e);
    return d;
  }

  /** Adds an app: saved first; only a saved app gets tasks. */
  private async add(given: ValidatedApp, request?: ApiRequest): Promise<{ app: AppView; deployment: Deployment }> {
    const existing = this.entries.get(given.id);
    if (existing && !existing.removed) throw new SipError('SIP_APP_EXISTS', `An app with id [${given.id}] already exists.`, { expose: true });
    // Still stopping: its tasks (and its user) are alive; a new app of that id waits, as Marathon's lock makes it.
    if (existing) {
      const why = `App '${given.id}' is being removed and its tasks are still stopping (deployment ${existing.deployment?.id ?? '-'}); add it again once it is gone.`;
      throw new SipError('SIP_APP_EXISTS', why, { expose: true });
    }
    const clash = this.live().find((o) => o.app.id.startsWith(`${given.id}/`) || given.id.startsWith(`${o.app.id}/`));
    if (clash) {
      const why = `${given.id} and the app ${clash.app.id} cannot both exist: an app id cannot also be a group of apps`;
      throw new MarathonValidationError(422, [{ path: '/id', errors: [why] }]);
    }
    const app = this.withPorts(given);
    const e = this.newEntry(app, this.stamp());
    await this.saveWith({ set: { app, version: e.version, uid: e.user.uid } });
    this.entries.set(app.id, e);
    const deployment = this.deploy(e, 'StartApplication', request, undefined);
    return { app: appView(e, false), deployment };
  }

  async start(): Promise<void> {
    for (const s of await this.store.load()) this.entries.set(s.app.id, this.newEntry(s.app, s.version, s.uid));
    this.timer = every(this.clock, this.init.tickMs ?? 200, () => this.entries.forEach(this.step));
    this.entries.forEach(this.step);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.timer?.cancel();
    const all = [...this.entries.values()].flatMap((e) => [...e.tasks.values()]);
    all.forEach((t) => t.kill('cluster stopping'));
    await Promise.all(all.map((t) => t.ended));
  }

  addApp = async (app: ValidatedApp, request?: ApiRequest): Promise<{ app: AppView; deployment: Deployment }> => {
    await this.admit(app);
    return this.serial(() => this.add(app, request));
  };

  putApp = async (given: ValidatedApp, request?: ApiRequest): Promise<Deployment> => {
    await this.admit(given);
    return this.serial(async () => {
      const existing = this.entries.get(given.id);
      if (!existing || existing.removed) return (await this.add(given, request)).deployment;
      const app = this.withPorts(given, existing.app);
      // Only `instances` changed: a scale, as in Marathon — running tasks stay.
      const scaleOnly = canonical({ ...existing.app, instances: 0 }) === canonical({ ...app, instances: 0 });
      return this.replace(existing, app, scaleOnly, request, { app: existing.app, version: existing.version });
    });
  };

  removeApp = (id: string, request?: ApiRequest): Promise<Deployment> =>
    this.serial(async () => {
      const e = this.entryOf(id);
      await this.saveWith({ remove: id });
      e.removed = true;
      return this.deploy(e, 'StopApplication', request, { app: e.app, version: e.version });
    });

  restartApp = (id: string, request?: ApiRequest): Promise<Deployment> =>
    this.serial(async () => {
      const e = this.entryOf(id);
      const version = this.stamp(e);
      await this.saveWith({ set: { app: e.app, version, uid: e.user.uid } });
      const before = { app: e.app, version: e.version };
      e.version = e.lastScalingAt = version;
      e.history.record(version, e.app);
      e.blocked = undefined;
      return this.deploy(e, 'RestartApplication', request, before);
    });

  killTasks = (appId: string, taskIds: readonly string[], opts: { scale: boolean }): Promise<{ tasks: TaskView[] } | { deployment: Deployment }> =>
    this.serial(async () => {
      const e = this.entryOf(appId);
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
      const version = this.stamp(e);
      await this.saveWith({ set: { app, version: e.version, uid: e.user.uid } });
      const before = { app: e.app, version: e.version };
      e.app = app;
      e.lastScalingAt = version;
      e.history.record(version, e.app);
      live.forEach((t) => t.kill('killed by request (scale)'));
      return { deployment: this.deploy(e, 'ScaleApplication', undefined, before) };
    });

  cancelDeployment = (id: string, force: boolean): Promise<Deployment | undefined> =>
    this.serial(async () => {
      const e = [...this.entries.values()].find((x) => x.deployment?.id === id);
      if (!e?.deployment) throw new SipError('SIP_DEPLOYMENT_NOT_FOUND', `DeploymentPlan ${id} does not exist`, { expose: true });
      const before = e.before;
      // Its service ports may have gone to another app meanwhile: a rollback that would share one is refused before anything changes.
      const restored = before && !force ? this.withPorts(before.app, before.app) : undefined;
      if (force) {
        // Stopped where it is: no rollback, the app keeps its new definition.
        endDeployment(this.events, e, false, 'canceled by request (force)');
        return undefined;
      }
      endDeployment(this.events, e, false, 'rolled back by request');
      if (!before) {
        // The deployment created the app: rolling back removes it.
        await this.saveWith({ remove: e.app.id });
        e.removed = true;
        return this.deploy(e, 'StopApplication', undefined, undefined);
      }
      // A rollback can itself be rolled back: to the definition it replaced.
      return this.replace(e, restored!, before.version === e.version, undefined, { app: e.app, version: e.version });
    });

  versions = (id: string): string[] => this.entryOf(id).history.list();

  appAt = (id: string, version: string): AppView | undefined => {
    const e = this.entries.get(id);
    const at = e && !e.removed ? e.history.at(version) : undefined;
    return e && at ? { ...appView(e, false), ...at, version } : undefined;
  };

  queue = (): QueueItem[] => this.live().flatMap((e) => queueItemOf(e, this.now(), this.placeFor(e) !== undefined) ?? []);

  getApp = (id: string, withTasks = true): AppView | undefined => {
    const e = this.entries.get(id);
    return e && !e.removed ? appView(e, withTasks) : undefined;
  };

  listApps = (withTasks = false): AppView[] => this.live().map((e) => appView(e, withTasks));

  tasks = (appId?: string): TaskView[] =>
    [...this.entries.values()].filter((e) => !appId || e.app.id === appId).flatMap((e) => [...e.tasks.values()].map((t) => t.view()));

  deployments = (): Deployment[] => [...this.entries.values()].flatMap((e) => (e.deployment ? [e.deployment] : []));

  processes = (): Array<{ taskId: string; pid: number }> =>
    [...this.entries.values()].flatMap((e) => [...e.tasks.values()].flatMap((t) => (t.pid() ? [{ taskId: t.id, pid: t.pid()! }] : [])));

  containers = (agentId?: string): LocalContainer[] =>
    [...this.entries.values()].flatMap((e) =>
      [...e.tasks.values()]
        .filter((t) => t.status() === 'TASK_RUNNING' || t.status() === 'TASK_KILLING')
        .filter((t) => agentId === undefined || this.placedOn.get(t.id)?.spec.id === agentId)
        .map((t) => ({
          containerId: t.containerId,
          taskId: t.id,
          frameworkId: FRAMEWORK_ID,
          directory: t.sandbox,
          ...(e.app.cmd ? { command: e.app.cmd } : {}),
          ...(t.pid() ? { pid: t.pid()! } : {}),
        })),
    );

  agents = (): LocalAgentView[] => this.slots.map((s) => ({ id: s.spec.id, hostname: s.spec.hostname, attributes: { ...s.spec.attributes }, gone: s.gone }));

  removeAgent = (agentId: string, reason: string): Promise<LocalAgentView> =>
    this.serial(async () => {
      const slot = this.slots.find((s) => s.spec.id === agentId);
      if (!slot) throw new SipError('SIP_AGENT_NOT_FOUND', `No agent with id ${agentId}`, { expose: true });
      slot.gone = true;
      const lost = [...this.entries.values()].flatMap((e) => [...e.tasks.values()].filter((t) => this.placedOn.get(t.id) === slot));
      lost.forEach((t) => t.lose(reason));
      await Promise.all(lost.map((t) => t.ended));
      // Replacements at once, on the agents left.
      this.entries.forEach(this.step);
      return this.agents().find((a) => a.id === agentId)!;
    });

  configuration = (): LocalMarathonConfig => ({
    frameworkId: FRAMEWORK_ID,
    agentId: this.slots[0]!.spec.id,
    stateDir: this.init.stateDir,
    servicePorts: { ...SERVICE_PORT_RANGE },
    hostPorts: { ...this.portRange },
    tasksUser: this.init.isolation.enabled ? 'one user per app (uid 2000000 and up)' : (userInfo().username ?? String(process.getuid?.() ?? '')),
    reconcileIntervalMs: this.init.tickMs ?? 200,
    maxVersions: MAX_VERSIONS,
    resources: { cpus: this.offered.cpus, mem: this.offered.mem },
    credentialsMode: this.delivery.defaultMode,
  });

  onBeforeKill = (hook: (task: TaskView) => Promise<void>): void => {
    this.beforeKillHooks.push(hook);
  };
}
