import { isRetryable } from '../../core/errors/catalogue.js';
import type { Delivered, DeliveryModes, TaskToDeliver } from '../../delivery/deliveryMode.js';
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
};

/**
 * Launches one task: resolve its secrets (fail closed: a refused secret means
 * no process at all), materialise them in a fresh sandbox, spawn the command,
 * run its health checks, and clean the secrets away when it ends.
 */
export function runTask(app: ValidatedApp, version: string, taskId: string, user: TaskUser, deps: TaskRunnerDeps): TaskRunner {
  const isolated = deps.isolation.enabled;
  const stagedAt = iso(deps.clock.now());
  let status: TaskStatus = 'TASK_STAGING';
  let startedAt: string | null = null;
  let ports: number[] = [];
  let proc: TaskProcess | undefined;
  let materialized: Delivered | undefined;
  let killRequested: string | undefined;
  let env: Record<string, string> = {};
  let unhealthyKill = false;
  let health: HealthMonitor | undefined;
  const sandbox = join(deps.sandboxRoot, taskId);
  const containerId = randomUUID();
  let cgroup: TaskCgroup | undefined;

  const view = (): TaskView => ({
    id: taskId,
    appId: app.id,
    host: deps.host,
    ports: [...ports],
    servicePorts: servicePortsOf(app),
    ipAddresses: [{ ipAddress: deps.host, protocol: 'IPv4' }],
    role: '*',
    slaveId: deps.slaveId,
    stagedAt,
    startedAt,
    version,
    state: status,
    healthCheckResults: health?.results() ?? [],
  });
  const instanceId = taskId.replace(/\._app\.\d+$/, '');
  const publishStatus = (message = ''): void => {
    deps.events.publish('status_update_event', {
      slaveId: deps.slaveId,
      taskId,
      taskStatus: status,
      message,
      appId: app.id,
      host: deps.host,
      ports: [...ports],
      version,
    });
    deps.events.publish('instance_changed_event', {
      instanceId,
      condition: CONDITION[status],
      runSpecId: app.id,
      agentId: deps.slaveId,
      host: deps.host,
      runSpecVersion: version,
    });
  };

  let resolveEnd!: (end: TaskEnd) => void;
  const ended = new Promise<TaskEnd>((r) => (resolveEnd = r));
  const finish = async (end: TaskEnd): Promise<void> => {
    health?.stop();
    // Whatever the task forked or detached goes with it.
    cgroup?.killAll();
    cgroup?.remove();
    await materialized?.cleanup();
    // The sandbox goes back to root: its logs stay for the operator, and whoever gets this
    // user later (or a stray process of it) cannot read what the task left.
    if (isolated) await chown(sandbox, 0, 0).catch(() => undefined);
    deps.ports.release(ports);
    status = end.status;
    publishStatus(end.message);
    resolveEnd(end);
  };

  const startHealthChecks = (): void => {
    health = monitorHealth(taskId, app.healthChecks, {
      clock: deps.clock,
      probe: (hc) => probe(hc, { host: deps.host, ports, sandbox, env, ...(isolated ? { user } : {}) }),
      onChange: (alive) => {
        deps.events.publish('instance_health_changed_event', { instanceId, runSpecId: app.id, runSpecVersion: version, healthy: alive });
        deps.events.publish('health_status_changed_event', { appId: app.id, taskId, instanceId, version, alive });
      },
      onUnhealthy: (reason, failures) => {
        if (status !== 'TASK_RUNNING') return;
        deps.events.publish('unhealthy_task_kill_event', { appId: app.id, taskId, version, reason, host: deps.host, slaveId: deps.slaveId });
        unhealthyKill = true;
        kill(`unhealthy: ${reason} (${failures} consecutive failures)`);
      },
    });
  };

  const kill = (reason: string): void => {
    if (killRequested) return;
    killRequested = reason;
    if (!proc) return; // still staging: launch() notices and stops
    health?.stop(); // a task being killed is no longer probed
    status = 'TASK_KILLING';
    publishStatus(reason);
    // Bounded: a task that ignores SIGTERM must not keep its user (and what it holds) alive for days.
    const asked = Number((app as { taskKillGracePeriodSeconds?: unknown }).taskKillGracePeriodSeconds ?? 3);
    const grace = Math.min(Number.isFinite(asked) && asked >= 0 ? asked : 3, MAX_KILL_GRACE_SECONDS) * 1000;
    const p = proc;
    // Drain first (bounded), then signal: load balancers stop sending before the app stops accepting.
    const drained = deps.beforeKill
      ? Promise.race([deps.beforeKill(view()).catch(() => undefined), new Promise<void>((r) => deps.clock.after(5000, r))])
      : Promise.resolve();
    void drained.then(() => p.kill(grace));
  };

  /** For a DOCKER app: the image and its user, or why it cannot run here. */
  const dockerReady = async (): Promise<{ image: string; user: string | undefined } | string> => {
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
    const user = await deps.docker.imageUser(image);
    if (user === undefined) return `image ${image} is not on this agent and there is no registry to pull from (build it here, e.g. npm run image)`;
    return { image, user: user || undefined };
  };

  const launch = async (): Promise<void> => {
    publishStatus();
    if (!deps.isolation.enabled && !deps.isolation.insecure && secretRefs(app).length > 0) {
      // Without isolation any task could read this one's secrets: refuse before anything is fetched.
      const message = `this cluster cannot isolate tasks (${deps.isolation.reason}); apps with secrets are refused unless it is started with --insecure-shared-identity`;
      return finish({ status: 'TASK_FAILED', message, failure: true, blocking: true });
    }
    const docker = app.container?.type === 'DOCKER' ? await dockerReady() : undefined;
    if (typeof docker === 'string') return finish({ status: 'TASK_FAILED', message: docker, failure: true, blocking: true });
    const mode = deps.delivery.modeOf(app);
    const audit = (r: AuditRecord): void => deps.logger.info({ audit: r }, 'secret access decision');
    let task: TaskToDeliver;
    try {
      const plan = await resolve(app, { taskId }, { store: deps.store, audit, now: () => deps.clock.now() });
      task = { app, taskId, plan, docker: docker !== undefined, audit, now: () => deps.clock.now() };
      // The mode's own conditions (endpoint mode: no AWS config delivered, an agent that can tell tasks apart).
      const refusal = mode.refusal(task);
      if (refusal) return finish({ status: 'TASK_FAILED', message: refusal, failure: true, blocking: true });
    } catch (err) {
      // A refusal stays a refusal until the app or its secret changes; a store that was down may be up next time.
      const blocking = err instanceof ResolveError && !isRetryable(err.code);
      const message = err instanceof ResolveError ? err.message : 'resolving secrets failed';
      deps.logger.warn({ taskId, appId: app.id, code: (err as { code?: string }).code }, message);
      return finish({ status: 'TASK_FAILED', message, failure: true, blocking });
    }
    if (killRequested) return finish({ status: 'TASK_KILLED', message: killRequested, failure: false, blocking: false });
    try {
      // The sandbox stays root's while root writes into it (secrets, token): the task's user — or
      // another task of its app — cannot plant a symlink for root to follow. It is handed over last.
      await mkdir(sandbox, { recursive: true, mode: 0o700 });
      ports = await deps.ports.allocate(Math.max(app.portDefinitions?.length ?? 0, app.container?.portMappings?.length ?? 0));
      const delivered = await mode.deliver(task, { hostPath: sandbox, taskPath: docker ? CONTAINER_SANDBOX : sandbox, ...(isolated ? { owner: user } : {}) });
      materialized = delivered;
      // The sandbox belongs to the task's user alone (0700), as Mesos hands it over.
      if (isolated) await chown(sandbox, user.uid, user.gid);
      if (docker) {
        if (!isolated) await shareWithContainerUser(sandbox, materialized.files, docker.user);
        // Inside the container: the sandbox at /mnt/mesos/sandbox, and of the
        // agent's environment only the AWS endpoints (never its PATH or HOME).
        const agentAws = Object.fromEntries(Object.entries(deps.agentEnv).filter(([k]) => k.startsWith('AWS_')));
        env = taskEnv(app, version, taskId, CONTAINER_SANDBOX, deps.host, ports, agentAws, delivered.env);
        proc = deps.docker.start({
          // As Mesos's Docker containerizer names it (src/docker/docker.hpp: mesos-<containerId>), with
          // Marathon's MESOS_TASK_ID label: how sip agent maps the container back to its task.
          name: `mesos-${containerId}`,
          image: docker.image,
          labels: { MESOS_TASK_ID: taskId, 'sip.task': taskId, 'sip.app': app.id, ...(deps.clusterLabel ? { 'sip.cluster': deps.clusterLabel } : {}) },
          env,
          sandbox,
          mounts: materialized.files.map((f) => ({ source: f, target: join(CONTAINER_SANDBOX, relative(sandbox, f)), readOnly: true })),
          command: app.args !== undefined ? { args: app.args } : app.cmd !== undefined ? { cmd: app.cmd } : undefined,
          // Isolated: the app's own user, never the image's (which may be root).
          ...(isolated ? { user } : {}),
        });
      } else {
        env = taskEnv(app, version, taskId, sandbox, deps.host, ports, deps.agentEnv, delivered.env);
        if (isolated) env.HOME = sandbox; // the agent's HOME is not the task user's
        const command = app.args !== undefined ? { args: app.args } : { cmd: app.cmd ?? 'true' };
        if (deps.cgroups?.available) cgroup = deps.cgroups.create(containerId, app.mem);
        proc = startTaskProcess(command, sandbox, env, isolated ? user : undefined, cgroup);
      }
    } catch (err) {
      const message = `could not start: ${(err as Error).message}`;
      return finish({ status: 'TASK_FAILED', message, failure: true, blocking: false });
    }
    status = 'TASK_RUNNING';
    startedAt = iso(deps.clock.now());
    publishStatus();
    startHealthChecks();
    if (killRequested) {
      const reason = killRequested;
      killRequested = undefined;
      kill(reason);
    }
    const exit: TaskExit = await proc.exited;
    const how = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
    if (killRequested && !unhealthyKill) return finish({ status: 'TASK_KILLED', message: killRequested, failure: false, blocking: false });
    if (unhealthyKill) return finish({ status: 'TASK_KILLED', message: killRequested ?? 'unhealthy', failure: true, blocking: false });
    return finish({ status: exit.code === 0 ? 'TASK_FINISHED' : 'TASK_FAILED', message: `task ${how}`, failure: true, blocking: false });
  };
  void launch().catch((err: Error) => finish({ status: 'TASK_FAILED', message: `launcher error: ${err.message}`, failure: true, blocking: false }));

  return {
    id: taskId,
    version,
    view,
    status: () => status,
    healthy: () => status === 'TASK_RUNNING' && (health?.healthy() ?? app.healthChecks.length === 0),
    ended,
    pid: () => proc?.pid,
    stagedAt,
    containerId,
    sandbox,
    kill,
  };
}
