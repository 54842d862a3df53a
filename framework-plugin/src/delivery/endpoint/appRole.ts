import { AgentError } from '../../core/agent/errors.js';
import { roleOfApp, type RoleSource, type TaskRole } from '../../core/agent/roleOfApp.js';
import type { Caller } from './taskLocator.js';

export type { RoleSource, TaskRole };

/** The Marathon calls {@link createAppRoles} makes (the project's Marathon client fits). */
export interface MarathonReader {
  getApp(id: string): Promise<Record<string, any>>;
  /** `GET /v2/info`: Marathon's own facts, `frameworkId` among them. */
  info(): Promise<Record<string, any>>;
}

/** User options of {@link createAppRoles}. */
export interface AppRolesInit {
  marathon: MarathonReader;
  source: RoleSource;
  /** This agent's Mesos id (`GET_AGENT`), as Marathon's tasks name it (`slaveId`). */
  agentId(): Promise<string>;
  /** How long a task's decision is reused, ms. Default 10 s (a task's end drops it at once). */
  ttlMs?: number;
  now?: () => number;
}

/** Decides, per task, which role it gets. */
export interface AppRoles {
  /**
   * The role for a calling task: its app from Marathon (the task must be
   * running), then the app's `aws-config` secret through the same resolver
   * as file mode (path rule, validation, audit), or the policy file.
   * @throws AgentError `SIP_AGENT_UNKNOWN_CALLER` (not a running task of a
   *   Marathon app), `SIP_AGENT_NO_ROLE` (no role, or the secret is denied, with the reason).
   */
  roleFor(caller: Caller): Promise<TaskRole>;
  /** Drops what is held for a task (it ended). */
  forgetTask(taskId: string): void;
  /** The tasks it holds decisions for. */
  tasks(): Set<string>;
}

/** Errors that say an upstream is down, not that the caller is wrong. */
const OUTAGE = new Set([
  'SIP_MARATHON_UNREACHABLE',
  'SIP_MARATHON_FAILED',
  'SIP_AGENT_UPSTREAM_FAILED',
  'SIP_SECRET_STORE_UNAVAILABLE',
  'SIP_SECRET_UNAVAILABLE',
]);

/** A task's decision, and the last good one (served through an outage). */
interface MemoEntry {
  taskId: string;
  until: number;
  answer: Promise<TaskRole>;
  last?: TaskRole;
  /** The decision being made again while this one, past its time, is still served. */
  next?: MemoEntry;
}

/**
 * One decision, from Marathon's record: the task runs, on this agent, under
 * its app, launched by Marathon; then the app's role (policy, or the AWS
 * config its label names, through the path rule).
 * @throws AgentError `SIP_AGENT_UNKNOWN_CALLER` or `SIP_AGENT_NO_ROLE` with the reason.
 */
async function decideRole(init: AppRolesInit, marathonFramework: (fresh: boolean) => Promise<string>, caller: Caller): Promise<TaskRole> {
  // Only Marathon's containers: another framework may name its executor after a Marathon task.
  if (caller.frameworkId !== (await marathonFramework(false)) && caller.frameworkId !== (await marathonFramework(true))) {
    throw new AgentError('SIP_AGENT_UNKNOWN_CALLER', `task ${caller.taskId} was not launched by Marathon (framework ${caller.frameworkId})`);
  }
  const raw = await init.marathon.getApp(caller.appId).catch((err: { code?: string }) => {
    throw err.code === 'SIP_MARATHON_NOT_FOUND'
      ? new AgentError('SIP_AGENT_UNKNOWN_CALLER', `app ${caller.appId} of task ${caller.taskId} does not exist`)
      : err;
  });
  // Marathon's record, not the task id, says whose task it is and where it runs.
  const task = ((raw.tasks ?? []) as Array<{ id: string; state: string; appId?: string; slaveId?: string }>).find((t) => t.id === caller.taskId);
  if (task?.state !== 'TASK_RUNNING')
    throw new AgentError('SIP_AGENT_UNKNOWN_CALLER', `task ${caller.taskId} is not running (${task?.state ?? 'unknown to Marathon'})`);
  if (task.appId !== undefined && task.appId !== raw.id)
    throw new AgentError('SIP_AGENT_UNKNOWN_CALLER', `Marathon reports task ${caller.taskId} under ${task.appId}, not ${String(raw.id)}`);
  const here = await init.agentId();
  if (task.slaveId !== here)
    throw new AgentError(
      'SIP_AGENT_UNKNOWN_CALLER',
      `Marathon reports task ${caller.taskId} on agent ${task.slaveId ?? '(none)'}, not on this agent (${here})`,
    );
  return roleOfApp(raw, caller.taskId, init.source);
}

/** A directory of task → role decisions, reused briefly and dropped when tasks end. */
export function createAppRoles(init: AppRolesInit): AppRoles {
  const now = init.now ?? Date.now;
  const ttl = init.ttlMs ?? 10_000;
  const memo = new Map<string, MemoEntry>();
  const keys = new WeakMap<Caller, string>(); // a caller (one per connection) computes its key once

  // Marathon's framework id changes only with a new Marathon: read once, again after a miss (at most once a minute).
  let framework: { id: Promise<string>; at: number } | undefined;
  const marathonFramework = (fresh: boolean): Promise<string> => {
    if (!framework || (fresh && now() - framework.at > 60_000)) {
      const id = init.marathon.info().then((i) => (typeof i.frameworkId === 'string' ? i.frameworkId : ''));
      framework = { id, at: now() };
      id.catch(() => (framework = undefined));
    }
    return framework.id;
  };

  const decide = (caller: Caller): Promise<TaskRole> => decideRole(init, marathonFramework, caller);

  return {
    roleFor(caller) {
      const t = now();
      // Per task *and* the container and framework it was found in: a decision for the task in its own
      // container says nothing about another framework's executor that borrows its name.
      let key = keys.get(caller);
      if (key === undefined) keys.set(caller, (key = `${caller.taskId}\n${caller.containerId}\n${caller.frameworkId}`));
      const hit = memo.get(key);
      if (hit && hit.until > t) return hit.answer;
      // A role granted before is served while it is decided again (a refusal then holds from the next
      // request on): the task's own fetches never wait for Marathon and the secrets service.
      if (hit?.last && hit.until > 0) {
        if (!hit.next) {
          const next = (hit.next = start(caller, hit.last));
          const swap = (): void => void (memo.get(key) === hit && memo.set(key, next));
          next.answer.then(swap, swap);
        }
        return Promise.resolve(hit.last);
      }
      const entry = start(caller, hit?.last);
      memo.set(key, entry);
      return entry.answer;
    },
    forgetTask(taskId) {
      for (const [key, e] of memo) if (e.taskId === taskId) memo.delete(key);
    },
    tasks: () => new Set([...memo.values()].map((e) => e.taskId)),
  };

  /** A decision for the caller, made now; a role decided before (`last`) stands in through an outage. */
  function start(caller: Caller, last: TaskRole | undefined): MemoEntry {
    const t = now();
    const entry: MemoEntry = { taskId: caller.taskId, until: t + ttl, answer: Promise.resolve() as never, ...(last ? { last } : {}) };
    entry.answer = decide(caller).then(
      (role) => ((entry.last = role), role),
      (err: { code?: string }) => {
        // A refusal holds for the task (until it ends or the TTL passes), and no role granted before is served
        // again; a transient failure is asked again.
        if (err.code === 'SIP_AGENT_NO_ROLE' || err.code === 'SIP_AGENT_UNKNOWN_CALLER') delete entry.last;
        else entry.until = 0;
        // Marathon or the agent down: a task decided before keeps its role (it is still in the agent's
        // container list, the locator checked), until its credentials expire or it ends.
        if (last && OUTAGE.has(err.code ?? '')) return last;
        throw err;
      },
    );
    return entry;
  }
}
