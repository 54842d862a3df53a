import type { Socket } from 'node:net';
import type { DockerInspector } from '../../clients/docker/engineInspector.js';
import type { MesosAgentClient, MesosContainer } from '../../clients/mesos/agentClient.js';
import { AgentError } from '../../core/agent/errors.js';
import { parseTaskId } from '../../core/marathon/taskId.js';
import { placeOfPid, startTimeOf, type CgroupPlace } from './containerOf.js';
import { endsOf, peerProcesses } from './peerProcess.js';

/** The task a connection comes from, as this agent's kernel and Mesos agent say. */
export interface Caller {
  readonly taskId: string;
  /** The app the task id names: a claim until Marathon confirms it (see `appRole.ts`). */
  readonly appId: string;
  readonly containerId: string;
  /** The framework that launched the container (Marathon's, or not). */
  readonly frameworkId: string;
  readonly pid: number;
  /** The caller socket's owner. */
  readonly uid: number;
}

/** User options of {@link createTaskLocator}. */
export interface TaskLocatorInit {
  mesos: MesosAgentClient;
  /** Mesos's `--cgroups_root` (default `mesos`). */
  cgroupsRoot: string;
  /** The v1 hierarchies whose line must name the container (default freezer and name=systemd). */
  cgroupHierarchies?: readonly string[];
  /** Resolves DOCKER tasks' containers (`mesos-<containerId>`); without, they are refused with the reason. */
  docker?: DockerInspector;
  /** Told the agent's containers each time they are listed (sip agent writes new tasks' tokens). */
  onContainers?: (containers: readonly MesosContainer[]) => void;
  /** Where `/proc` is (tests). */
  proc?: string;
  /** The connection's socket as already looked up (the connection quota's), to read `/proc/net/tcp` once per connection. */
  owners?: (socket: Socket) => Promise<{ inode: string; uid: number } | undefined>;
  /** How long the container list is reused before a miss asks again, ms. Default 1000. */
  containersTtlMs?: number;
  /** How long a failed lookup is remembered for its connection, ms. Default 1000. */
  failureTtlMs?: number;
  now?: () => number;
}

/** Finds which task is calling, from the connection alone. */
export interface TaskLocator {
  /** Task ids of the agent's containers (with `refresh`, asked again: at most one call per 100 ms); the same array until it changes. */
  taskIds(refresh: boolean): Promise<readonly string[]>;
  /**
   * The task behind a connection: the peer socket's processes, their cgroups
   * (which must name one Mesos container at its own level, or one Docker
   * container named `mesos-<containerId>`), that container's executor (the
   * task) and framework from the agent's `GET_CONTAINERS`, and the processes'
   * start times unchanged throughout. Remembered per connection (a failure
   * for `failureTtlMs`).
   * @throws AgentError `SIP_AGENT_UNKNOWN_CALLER` with the reason.
   */
  locate(socket: Socket): Promise<Caller>;
}

/** How long a listed container is believed while the list is being asked again. */
const STALE_MS = 30_000;
/** Least time between two container lists asked because of a miss. */
const MIN_REFRESH_MS = 100;
/** The Docker containerizer names a task's container `mesos-<containerId>` (apache/mesos src/docker/docker.hpp, `DOCKER_NAME_PREFIX`). */
const DOCKER_NAME = /^mesos-([A-Za-z0-9][A-Za-z0-9._-]{0,127})$/;

function unknown(why: string): never {
  throw new AgentError('SIP_AGENT_UNKNOWN_CALLER', `the caller is not a running task: ${why}`);
}

/** The Mesos container of a place: its own, or the one a Docker container is named after. */
async function mesosContainerOf(init: TaskLocatorInit, place: CgroupPlace): Promise<{ id: string; dockerTaskId?: string }> {
  if (place.kind === 'container') return { id: place.containerId };
  if (place.kind === 'none') return unknown(place.reason);
  if (place.kind === 'nested') {
    return unknown(
      `it runs in nested container ${place.childId} of ${place.containerId}: a pod's task, which sip agent does not serve yet (use an app, or file mode)`,
    );
  }
  if (!init.docker) return unknown(`it runs in Docker container ${place.dockerId.slice(0, 12)} and this agent was started without --docker-socket`);
  const d = await init.docker.inspect(place.dockerId);
  const m = d && DOCKER_NAME.exec(d.name);
  if (!d || !m) return unknown(`Docker container ${place.dockerId.slice(0, 12)} is not one the Mesos agent launched (its name is not mesos-<containerId>)`);
  return { id: m[1]!, ...(d.labels.MESOS_TASK_ID ? { dockerTaskId: d.labels.MESOS_TASK_ID } : {}) };
}

/**
 * The task behind a connection (see {@link TaskLocator.locate}), given the
 * agent's container list (`containerOf`).
 */
async function locateCaller(init: TaskLocatorInit, containerOf: (id: string) => Promise<MesosContainer | undefined>, socket: Socket): Promise<Caller> {
  const peer = await peerProcesses(endsOf(socket), init.proc, init.owners ? await init.owners(socket) : undefined);
  if (!peer || peer.pids.length === 0) return unknown('its socket has no process on this agent');
  // Start times first: a pid that dies and is reused while we look is noticed at the end.
  const started = await Promise.all(peer.pids.map((p) => startTimeOf(p, init.proc)));
  // Every process holding the socket must be in the same container: a descriptor handed out cannot borrow a task's identity.
  const places = await Promise.all(peer.pids.map((p) => placeOfPid(p, init.cgroupsRoot, init.proc, init.cgroupHierarchies)));
  const resolved = await Promise.all(places.map((p) => mesosContainerOf(init, p)));
  const containerIds = new Set(resolved.map((r) => r.id));
  if (containerIds.size !== 1) return unknown('the socket is shared by processes of different containers');
  const containerId = [...containerIds][0]!;
  const dockerTaskId = resolved.find((r) => r.dockerTaskId)?.dockerTaskId;
  const container = await containerOf(containerId);
  if (!container)
    return unknown(
      `container ${containerId} is not one the Mesos agent lists: it does not run it, or the agent's principal may not view it (grant VIEW_CONTAINER: dcos:mesos:agent:container:app_id for the Marathon apps)`,
    );
  const taskId = container.executorId;
  if (!taskId || !container.frameworkId) return unknown(`container ${containerId} is not an executor's`);
  // Marathon labels a DOCKER task's container with its task (MESOS_TASK_ID): it must be the agent's executor.
  if (dockerTaskId !== undefined && dockerTaskId !== taskId)
    return unknown(`Docker container mesos-${containerId} is labelled task ${dockerTaskId}, the Mesos agent runs task ${taskId} in it`);
  const parsed = parseTaskId(taskId);
  if (!parsed) return unknown(`executor ${taskId} is not a Marathon task (a pod's default executor, or another framework's)`);
  if (parsed.container) return unknown(`task ${taskId} is a pod's task (container ${parsed.container}), which sip agent does not serve yet`);
  const again = await Promise.all(peer.pids.map((p) => startTimeOf(p, init.proc)));
  if (again.some((t, i) => t === undefined || t !== started[i])) return unknown('its process ended while it was identified');
  return { taskId, appId: parsed.appId, containerId, frameworkId: container.frameworkId, pid: peer.pids[0]!, uid: peer.uid };
}

/** A {@link TaskLocator} over `/proc`, cgroups and the Mesos agent operator API. */
export function createTaskLocator(init: TaskLocatorInit): TaskLocator {
  const now = init.now ?? Date.now;
  const ttl = init.containersTtlMs ?? 1000;
  const failureTtl = init.failureTtlMs ?? 1000;
  let containers = new Map<string, MesosContainer>();
  let ids: readonly string[] = []; // the same array until the list changes (callers may cache what they derive)
  let fetchedAt = -Infinity;
  let fetching: Promise<void> | undefined;
  const refresh = (): Promise<void> => {
    const started = now();
    return (fetching ??= init.mesos
      .getContainers()
      .then((list) => {
        containers = new Map(list.map((c) => [c.containerId, c]));
        const next = list.flatMap((c) => (c.executorId ? [c.executorId] : []));
        if (next.join('\n') !== ids.join('\n')) ids = Object.freeze(next);
        init.onContainers?.(list);
        fetchedAt = started; // when the agent was asked: what a later miss needs is a list asked for after it
      })
      .finally(() => (fetching = undefined)));
  };
  /** The agent's container; a miss asks the agent again, at most once per 100 ms whoever asks. */
  const containerOf = async (containerId: string): Promise<MesosContainer | undefined> => {
    const age = now() - fetchedAt;
    // A container listed lately is served while the list is asked again: ids are never reused, and a gone
    // container's processes are gone with its cgroup. Older than STALE_MS, or a miss, waits for the agent.
    if (age > ttl && age < STALE_MS && containers.has(containerId)) void refresh().catch(() => undefined);
    else if (age > ttl) await refresh();
    if (!containers.has(containerId)) await refreshSoon();
    return containers.get(containerId);
  };
  const refreshSoon = async (): Promise<void> => {
    const asked = now();
    const wait = fetchedAt + MIN_REFRESH_MS - asked;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // Until a list asked for after this miss is in: every miss of a burst shares the one call.
    while (fetchedAt < asked) await refresh();
  };
  const memo = new WeakMap<Socket, { until: number; answer: Promise<Caller> }>();

  const locate = (socket: Socket): Promise<Caller> => locateCaller(init, containerOf, socket);

  return {
    async taskIds(again) {
      // A task that just started is asked for at once; a flood of misses shares one call per 100 ms.
      if (again) await refreshSoon();
      return ids;
    },
    locate(socket) {
      const t = now();
      const hit = memo.get(socket);
      if (hit && hit.until > t) return hit.answer;
      const answer = locate(socket);
      const entry = { until: Infinity, answer };
      memo.set(socket, entry);
      // A failure is remembered briefly: a flood on one connection costs one lookup per second.
      answer.catch(() => (entry.until = now() + failureTtl));
      return answer;
    },
  };
}
