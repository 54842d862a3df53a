import { isRetryable } from '../../core/errors/catalogue.js';
import type { Delivered, DeliveryMode, DeliveryModes, TaskToDeliver } from '../../delivery/deliveryMode.js';
import type { AuditRecord } from '../../core/resolver/audit.js';
import { chown, mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Logger } from 'pino';
import { probe } from '../launcher/healthCheck.js';
import type { TaskUser } from '../launcher/identity.js';
import type { Isolation } from '../launcher/isolation.js';
import { secretRefs } from '../../core/resolver/refs.js';
import type { Clock } from './clock.js';
import { monitorHealth, type HealthMonitor } from './healthMonitor.js';
import type { PortAllocator } from '../launcher/ports.js';
import { CONTAINER_SANDBOX, shareWithContainerUser, type DockerEngine } from '../launcher/dockerTask.js';
import { startTaskProcess, type TaskExit, type TaskProcess } from '../launcher/taskProcess.js';
import type { ValidatedApp } from '../../core/marathon/appDefinition.js';
import { resolve } from '../../core/resolver/resolve.js';
import { ResolveError } from '../../core/resolver/errors.js';
import type { SecretStore } from '../../core/secrets/SecretStore.js';
import type { EventBus } from '../../core/marathon/events.js';
import type { TaskStatus, TaskView } from '../../core/marathon/views.js';
import { taskEnv } from '../../core/marathon/taskEnv.js';
import { randomUUID } from 'node:crypto';
import type { Cgroups, TaskCgroup } from '../launcher/cgroups.js';
import { servicePortsOf } from '../../core/marathon/servicePorts.js';

/** What a task needs from the cluster. */
export interface TaskRunnerDeps {
  store: SecretStore;
  events: EventBus;
  ports: PortAllocator;
  logger: Logger;
  /** Environment of the agent that every task inherits (PATH, AWS endpoints). */
  agentEnv: Record<string, string>;
  sandboxRoot: string;
  /** Runs `container.type: DOCKER` apps. */
  docker: DockerEngine;
  /** Runs after TASK_KILLING is published and before SIGTERM (e.g. EdgeLB draining the task). */
  beforeKill?: (task: TaskView) => Promise<void>;
  host: string;
  slaveId: string;
  clock: Clock;
  /** Whether tasks run under their own users; when not, apps with secrets are refused unless the operator chose otherwise. */
  isolation: Isolation;
  /** `sip.cluster` label of the containers this cluster starts. */
  clusterLabel?: string;
  /** Per-task cgroups (Mesos's naming): reliable kill, `mem` enforced, and how `sip agent` tells tasks apart. */
  cgroups?: Cgroups;
  /** How each app's tasks get their credentials (one mode per `delivery/` folder). */
  delivery: DeliveryModes;
}

/** How a task ended, for the cluster's bookkeeping. */
export interface TaskEnd {
  status: TaskStatus;
  message: string;
  /** Counts towards launch backoff (crash, unhealthy kill, refused secret). */
  failure: boolean;
  /** The app must not be launched again until it changes (secret denied, invalid content). */
  blocking: boolean;
}

/** One task of an app, from staging to its end. */
export interface TaskRunner {
  readonly id: string;
  readonly version: string;
  readonly view: () => TaskView;
  readonly status: () => TaskStatus;
  /** True when running and every health check (if any) is alive. */
  readonly healthy: () => boolean;
  readonly ended: Promise<TaskEnd>;
  readonly pid: () => number | undefined;
  /** When the task was staged (ISO time): what scale-down orders by. */
  readonly stagedAt: string;
  /** The Mesos container id of the task (its cgroup's name). */
  readonly containerId: string;
  /** The task's sandbox on the host. */
  readonly sandbox: string;
  /** Kills the task (SIGTERM, SIGKILL after the grace period). */
  kill(reason: string): void;
  /** Its agent is gone: the processes die at once (SIGKILL, no drain) and the task ends TASK_LOST, not a failure. */
  lose(reason: string): void;
}

const iso = (d: Date): string => d.toISOString();
/** The longest `taskKillGracePeriodSeconds` honoured before SIGKILL. */
const MAX_KILL_GRACE_SECONDS = 300;
/** The instance condition Marathon reports beside each task status. */
const CONDITION: Record<TaskStatus, string> = {
  TASK_STAGING: 'Staging',
  TASK_RUNNING: 'Running',
  TASK_KILLING: 'Killing',
  TASK_KILLED: 'Killed',
  TASK_FAILED: 'Failed',
  TASK_FINISHED: 'Finished',
  // Its agent is gone (removed by the operator): Marathon's Condition.Gone, replaced at once.
  TASK_LOST: 'Gone',
};

/** What launching needs once admitted: the mode's task, and the image for a DOCKER app. */
interface Admitted {
  readonly task: TaskToDeliver;
  readonly mode: DeliveryMode;
  readonly docker: { image: string; user: string | undefined } | undefined;
}

/**
 * Launches one task: resolve its secrets (fail closed: a refused secret means
 * no process at all), have its delivery mode put them in a fresh sandbox,
 * spawn the command, run its health checks, and clean the secrets away when
 * it ends.
 */
export function runTask(app: ValidatedApp, version: string, taskId: string, user: TaskUser, deps: TaskRunnerDeps): TaskRunner {
  const run = new TaskRun(app, version, taskId, user, deps);
  void run.launch().catch((err: Error) => run.finish({ status: 'TASK_FAILED', message: `launcher error: ${err.message}`, failure: true, blocking: false }));
  return {
    id: taskId,
    version,
    view: () => run.view(),
    status: () => run.status,
    healthy: () => run.status === 'TASK_RUNNING' && (run.health?.healthy() ?? app.healthChecks.length === 0),
    ended: run.ended,
    pid: () => run.proc?.pid,
    stagedAt: run.stagedAt,
    containerId: run.containerId,
    sandbox: run.sandbox,
    kill: (reason) => run.kill(reason),
    lose: (reason) => run.lose(reason),
  };
}

/** One task's life: its state, and the steps from staging to its end, each a method. */
class TaskRun {
  status: TaskStatus = 'TASK_STAGING';
  proc: TaskProcess | undefined;
  health: HealthMonitor | undefined;
  readonly stagedAt: string;
  readonly sandbox: string;
  readonly containerId = randomUUID();
  readonly ended: Promise<TaskEnd>;
  private startedAt: string | null = null;
  private ports: number[] = [];
  private delivered: Delivered | undefined;
  private killRequested: string | undefined;
  private lost: string | undefined;
  private env: Record<string, string> = {};
  private unhealthyKill = false;
  private cgroup: TaskCgroup | undefined;
  private resolveEnd!: (end: TaskEnd) => void;
  private readonly isolated: boolean;
  private readonly instanceId: string;

  constructor(
    private readonly app: ValidatedApp,
    private readonly version: string,
    private readonly taskId: string,
    private readonly user: TaskUser,
    private readonly deps: TaskRunnerDeps,
  ) {
    this.isolated = deps.isolation.enabled;
    this.stagedAt = iso(deps.clock.now());
    this.sandbox = join(deps.sandboxRoot, taskId);
    this.instanceId = taskId.replace(/\._app\.\d+$/, '');
    this.ended = new Promise<TaskEnd>((r) => (this.resolveEnd = r));
  }

  view(): TaskView {
    const { app, deps } = this;
    return {
      id: this.taskId,
      appId: app.id,
      host: deps.host,
      ports: [...this.ports],
      servicePorts: servicePortsOf(app),
      ipAddresses: [{ ipAddress: deps.host, protocol: 'IPv4' }],
      role: '*',
      slaveId: deps.slaveId,
      stagedAt: this.stagedAt,
      startedAt: this.startedAt,
      version: this.version,
      state: this.status,
      healthCheckResults: this.health?.results() ?? [],
    };
  }

  private publishStatus(message = ''): void {
    const { app, deps } = this;
    const common = { host: deps.host, ports: [...this.ports] };
    deps.events.publish('status_update_event', {
      slaveId: deps.slaveId,
      taskId: this.taskId,
      taskStatus: this.status,
      message,
      appId: app.id,
      ...common,
      version: this.version,
    });
    deps.events.publish('instance_changed_event', {
      instanceId: this.instanceId,
      condition: CONDITION[this.status],
      runSpecId: app.id,
      agentId: deps.slaveId,
      host: deps.host,
      runSpecVersion: this.version,
    });
  }

  async finish(end: TaskEnd): Promise<void> {
    this.health?.stop();
    // Whatever the task forked or detached goes with it.
    this.cgroup?.killAll();
    this.cgroup?.remove();
    await this.delivered?.cleanup();
    // The sandbox goes back to root: its logs stay for the operator, and whoever gets this
    // user later (or a stray process of it) cannot read what the task left.
    if (this.isolated) await chown(this.sandbox, 0, 0).catch(() => undefined);
    this.deps.ports.release(this.ports);
    this.status = end.status;
    this.publishStatus(end.message);
    this.resolveEnd(end);
  }

  private startHealthChecks(): void {
    const { app, deps, taskId, instanceId, version } = this;
    this.health = monitorHealth(taskId, app.healthChecks, {
      clock: deps.clock,
      probe: (hc) => probe(hc, { host: deps.host, ports: this.ports, sandbox: this.sandbox, env: this.env, ...(this.isolated ? { user: this.user } : {}) }),
      onChange: (alive) => {
        deps.events.publish('instance_health_changed_event', { instanceId, runSpecId: app.id, runSpecVersion: version, healthy: alive });
        deps.events.publish('health_status_changed_event', { appId: app.id, taskId, instanceId, version, alive });
      },
      onUnhealthy: (reason, failures) => {
        if (this.status !== 'TASK_RUNNING') return;
        deps.events.publish('unhealthy_task_kill_event', { appId: app.id, taskId, version, reason, host: deps.host, slaveId: deps.slaveId });
        this.unhealthyKill = true;
        this.kill(`unhealthy: ${reason} (${failures} consecutive failures)`);
      },
    });
  }

  kill(reason: string): void {
    if (this.killRequested) return;
    this.killRequested = reason;
    const p = this.proc;
    if (!p) return; // still staging: launch() notices and stops
    this.health?.stop(); // a task being killed is no longer probed
    this.status = 'TASK_KILLING';
    this.publishStatus(reason);
    // Bounded: a task that ignores SIGTERM must not keep its user (and what it holds) alive for days.
    const asked = Number((this.app as { taskKillGracePeriodSeconds?: unknown }).taskKillGracePeriodSeconds ?? 3);
    const grace = Math.min(Number.isFinite(asked) && asked >= 0 ? asked : 3, MAX_KILL_GRACE_SECONDS) * 1000;
    const { deps } = this;
    // Drain first (bounded), then signal: load balancers stop sending before the app stops accepting.
    const drained = deps.beforeKill
      ? Promise.race([deps.beforeKill(this.view()).catch(() => undefined), new Promise<void>((r) => deps.clock.after(5000, r))])
      : Promise.resolve();
    void drained.then(() => p.kill(grace));
  }

  lose(reason: string): void {
    if (this.lost) return;
    this.lost = reason;
    this.health?.stop();
    // Staging: launch() ends it as soon as it notices; running: the whole group dies now, as with its agent.
    void this.proc?.kill(0);
  }

  /** For a DOCKER app: the image and its user, or why it cannot run here. */
  private async dockerReady(): Promise<{ image: string; user: string | undefined } | string> {
    const { app, deps } = this;
    const image = String(app.container?.docker?.image ?? '');
    const why = await deps.docker.unavailable();
    if (why) return `DOCKER container cannot start: ${why}`;
    if ((app.container?.docker as { forcePullImage?: boolean } | undefined)?.forcePullImage) {
      try {
        await deps.docker.pull(image);
      } catch (err) {
        return (err as Error).message;
      }
    }
    const imageUser = await deps.docker.imageUser(image);
    if (imageUser === undefined) return `image ${image} is not on this agent and there is no registry to pull from (build it here, e.g. npm run image)`;
    return { image, user: imageUser || undefined };
  }

  /** Whether the task may start: isolation, its image, its secrets (resolved) and its mode's conditions; else why it ended. */
  private async admit(): Promise<Admitted | TaskEnd> {
    const { app, deps, taskId } = this;
    const refused = (message: string, blocking = true): TaskEnd => ({ status: 'TASK_FAILED', message, failure: true, blocking });
    if (!deps.isolation.enabled && !deps.isolation.insecure && secretRefs(app).length > 0) {
      // Without isolation any task could read this one's secrets: refuse before anything is fetched.
      return refused(
        `this cluster cannot isolate tasks (${deps.isolation.reason}); apps with secrets are refused unless it is started with --insecure-shared-identity`,
      );
    }
    const docker = app.container?.type === 'DOCKER' ? await this.dockerReady() : undefined;
    if (typeof docker === 'string') return refused(docker);
    const mode = deps.delivery.modeOf(app);
    const audit = (r: AuditRecord): void => deps.logger.info({ audit: r }, 'secret access decision');
    try {
      const plan = await resolve(app, { taskId }, { store: deps.store, audit, now: () => deps.clock.now() });
      const task: TaskToDeliver = { app, taskId, plan, docker: docker !== undefined, audit, now: () => deps.clock.now() };
      // The mode's own conditions (endpoint mode: no AWS config delivered, an agent that can tell tasks apart).
      const refusal = mode.refusal(task);
      return refusal ? refused(refusal) : { task, mode, docker };
    } catch (err) {
      // A refusal stays a refusal until the app or its secret changes; a store that was down may be up next time.
      const message = err instanceof ResolveError ? err.message : 'resolving secrets failed';
      deps.logger.warn({ taskId, appId: app.id, code: (err as { code?: string }).code }, message);
      return refused(message, err instanceof ResolveError && !isRetryable(err.code));
    }
  }

  /** The sandbox, ports and delivery, then the process (a container, or a command in the task's cgroup). */
  private async start({ task, mode, docker }: Admitted): Promise<TaskProcess> {
    const { app, deps, taskId, version, sandbox, isolated, user } = this;
    // The sandbox stays root's while root writes into it (secrets): the task's user — or another task
    // of its app — cannot plant a symlink for root to follow. It is handed over last.
    await mkdir(sandbox, { recursive: true, mode: 0o700 });
    this.ports = await deps.ports.allocate(Math.max(app.portDefinitions?.length ?? 0, app.container?.portMappings?.length ?? 0));
    const delivered = await mode.deliver(task, { hostPath: sandbox, taskPath: docker ? CONTAINER_SANDBOX : sandbox, ...(isolated ? { owner: user } : {}) });
    this.delivered = delivered;
    // The sandbox belongs to the task's user alone (0700), as Mesos hands it over.
    if (isolated) await chown(sandbox, user.uid, user.gid);
    if (!docker) {
      this.env = taskEnv(app, version, taskId, sandbox, deps.host, this.ports, deps.agentEnv, delivered.env);
      if (isolated) this.env.HOME = sandbox; // the agent's HOME is not the task user's
      const command = app.args !== undefined ? { args: app.args } : { cmd: app.cmd ?? 'true' };
      if (deps.cgroups?.available) this.cgroup = deps.cgroups.create(this.containerId, app.mem);
      return startTaskProcess(command, sandbox, this.env, isolated ? user : undefined, this.cgroup);
    }
    if (!isolated) await shareWithContainerUser(sandbox, delivered.files, docker.user);
    // Inside the container: the sandbox at /mnt/mesos/sandbox, and of the agent's environment only the
    // AWS endpoints (never its PATH or HOME).
    const agentAws = Object.fromEntries(Object.entries(deps.agentEnv).filter(([k]) => k.startsWith('AWS_')));
    this.env = taskEnv(app, version, taskId, CONTAINER_SANDBOX, deps.host, this.ports, agentAws, delivered.env);
    return deps.docker.start({
      // As Mesos's Docker containerizer names it (src/docker/docker.hpp: mesos-<containerId>), with
      // Marathon's MESOS_TASK_ID label: how sip agent maps the container back to its task.
      name: `mesos-${this.containerId}`,
      image: docker.image,
      labels: { MESOS_TASK_ID: taskId, 'sip.task': taskId, 'sip.app': app.id, ...(deps.clusterLabel ? { 'sip.cluster': deps.clusterLabel } : {}) },
      env: this.env,
      sandbox,
      mounts: delivered.files.map((f) => ({ source: f, target: join(CONTAINER_SANDBOX, relative(sandbox, f)), readOnly: true })),
      command: app.args !== undefined ? { args: app.args } : app.cmd !== undefined ? { cmd: app.cmd } : undefined,
      // Isolated: the app's own user, never the image's (which may be root).
      ...(isolated ? { user } : {}),
    });
  }

  /** Staging → running → ended. */
  async launch(): Promise<void> {
    this.publishStatus();
    const admitted = await this.admit();
    if (!('task' in admitted)) return this.finish(admitted);
    if (this.lost) return this.finish({ status: 'TASK_LOST', message: this.lost, failure: false, blocking: false });
    if (this.killRequested) return this.finish({ status: 'TASK_KILLED', message: this.killRequested, failure: false, blocking: false });
    try {
      this.proc = await this.start(admitted);
    } catch (err) {
      return this.finish({ status: 'TASK_FAILED', message: `could not start: ${(err as Error).message}`, failure: true, blocking: false });
    }
    if (this.lost) void this.proc.kill(0);
    this.status = 'TASK_RUNNING';
    this.startedAt = iso(this.deps.clock.now());
    this.publishStatus();
    this.startHealthChecks();
    if (this.killRequested) {
      const reason = this.killRequested;
      this.killRequested = undefined;
      this.kill(reason);
    }
    const exit: TaskExit = await this.proc.exited;
    const how = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
    if (this.lost) return this.finish({ status: 'TASK_LOST', message: this.lost, failure: false, blocking: false });
    if (this.killRequested && !this.unhealthyKill) return this.finish({ status: 'TASK_KILLED', message: this.killRequested, failure: false, blocking: false });
    if (this.unhealthyKill) return this.finish({ status: 'TASK_KILLED', message: this.killRequested ?? 'unhealthy', failure: true, blocking: false });
    return this.finish({ status: exit.code === 0 ? 'TASK_FINISHED' : 'TASK_FAILED', message: `task ${how}`, failure: true, blocking: false });
  }
}
