import type { Socket } from 'node:net';
import type { MesosAgentClient } from '../../clients/mesos/agentClient.js';
import { AgentError } from '../../core/agent/errors.js';
import { containerOfPid } from './containerOf.js';
import { peerProcesses } from './peerProcess.js';

/** The task a connection comes from. */
export interface Caller {
  readonly taskId: string;
  readonly appId: string;
  readonly containerId: string;
  readonly pid: number;
}

/** User options of {@link createTaskLocator}. */
export interface TaskLocatorInit {
  mesos: MesosAgentClient;
  /** Mesos's `--cgroups_root` (default `mesos`). */
  cgroupsRoot: string;
  /** Where `/proc` is (tests). */
  proc?: string;
  /** How long the container list is reused before a miss asks again, ms. Default 1000. */
  containersTtlMs?: number;
  now?: () => number;
}

/** Finds which task is calling, from the connection alone. */
export interface TaskLocator {
  /** Task ids of the agent's containers (with `refresh`, asked again: at most one call per 100 ms); the same array until it changes. */
  taskIds(refresh: boolean): Promise<readonly string[]>;
  /**
   * The task behind a connection: the peer socket's processes, their cgroup
   * (which must name one Mesos container), and that container's executor
   * (the task) from the agent's `GET_CONTAINERS`. Remembered per connection.
   * @throws AgentError `SIP_AGENT_UNKNOWN_CALLER` with the reason.
   */
  locate(socket: Socket): Promise<Caller>;
}

/**
 * The app a Marathon task id belongs to: `team_web.instance-<uuid>._app.1`
 * → `/team/web` (app ids never hold `_`, so the mapping is exact), also the
 * older `team_web.<uuid>` form.
 */
export function appIdOfTask(taskId: string): string | undefined {
  const i = taskId.lastIndexOf('.instance-');
  const head = i > 0 ? taskId.slice(0, i) : /^(.+)\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.exec(taskId)?.[1];
  if (!head || !/^[a-z0-9][a-z0-9._-]*$/.test(head)) return undefined;
  return `/${head.replace(/_/g, '/')}`;
}

/** Least time between two container lists asked because of a miss. */
const MIN_REFRESH_MS = 100;

/** A {@link TaskLocator} over `/proc`, cgroups and the Mesos agent operator API. */
export function createTaskLocator(init: TaskLocatorInit): TaskLocator {
  const now = init.now ?? Date.now;
  const ttl = init.containersTtlMs ?? 1000;
  let containers: Map<string, string> = new Map();
  let ids: readonly string[] = []; // the same array until the list changes (callers may cache what they derive)
  let fetchedAt = -Infinity;
  let fetching: Promise<void> | undefined;
  const refresh = (): Promise<void> =>
    (fetching ??= init.mesos
      .getContainers()
      .then((list) => {
        containers = new Map(list.map((c) => [c.containerId, c.executorId]));
        const next = list.map((c) => c.executorId);
        if (next.join('\n') !== ids.join('\n')) ids = Object.freeze(next);
        fetchedAt = now();
      })
      .finally(() => (fetching = undefined)));
  const executorOf = async (containerId: string): Promise<string | undefined> => {
    if (now() - fetchedAt > ttl || !containers.has(containerId)) await refresh();
    return containers.get(containerId);
  };
  const memo = new WeakMap<Socket, Promise<Caller>>();

  const locate = async (socket: Socket): Promise<Caller> => {
    const unknown = (why: string): never => {
      throw new AgentError('SIP_AGENT_UNKNOWN_CALLER', `the caller is not a running task: ${why}`);
    };
    const ends = { localAddress: socket.localAddress ?? '', localPort: socket.localPort ?? 0, remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0 };
    const peer = await peerProcesses(ends, init.proc);
    if (!peer || peer.pids.length === 0) return unknown('its socket has no process on this agent');
    // Every process holding the socket must be in the same container: a descriptor handed out cannot borrow a task's identity.
    const ids = new Set(await Promise.all(peer.pids.map((p) => containerOfPid(p, init.cgroupsRoot, init.proc))));
    if (ids.has(undefined)) return unknown(`process ${peer.pids.find(Boolean)} is in no container under /${init.cgroupsRoot}`);
    if (ids.size !== 1) return unknown('the socket is shared by processes of different containers');
    const containerId = [...ids][0]!;
    const taskId = await executorOf(containerId);
    if (!taskId) return unknown(`container ${containerId} is not one the Mesos agent runs`);
    const appId = appIdOfTask(taskId);
    if (!appId) return unknown(`task ${taskId} is not a Marathon task`);
    return { taskId, appId, containerId, pid: peer.pids[0]! };
  };

  return {
    async taskIds(again) {
      if (again) {
        // A task that just started is asked for at once; a flood of misses shares one call per 100 ms.
        const wait = fetchedAt + MIN_REFRESH_MS - now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await refresh();
      }
      return ids;
    },
    locate(socket) {
      let p = memo.get(socket);
      if (!p) {
        p = locate(socket);
        memo.set(socket, p);
        p.catch(() => memo.delete(socket)); // a failure is not remembered: the next request looks again
      }
      return p;
    },
  };
}
