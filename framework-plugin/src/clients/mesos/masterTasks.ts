import type { MasterTask } from '../../core/agent/taskOnNode.js';

type Id = { value?: unknown } | undefined;
const idOf = (v: Id): string | undefined => (typeof v?.value === 'string' && v.value ? v.value : undefined);

/**
 * The tasks of a Mesos master's `GET_TASKS` answer (`master.proto`
 * `Response.GetTasks`: `tasks`, each a `mesos.proto` `Task` with `task_id`,
 * `agent_id`, `framework_id`, `state`). Entries missing any of them are
 * left out: a task the server cannot place is no task to it. Pure.
 */
export function parseMasterTasks(answer: unknown): MasterTask[] {
  const tasks = (answer as { get_tasks?: { tasks?: unknown } } | undefined)?.get_tasks?.tasks;
  if (!Array.isArray(tasks)) return [];
  return tasks.flatMap((t: { task_id?: Id; agent_id?: Id; framework_id?: Id; state?: unknown }) => {
    const taskId = idOf(t?.task_id);
    const agentId = idOf(t?.agent_id);
    const frameworkId = idOf(t?.framework_id);
    return taskId && agentId && frameworkId && typeof t.state === 'string' ? [{ taskId, agentId, frameworkId, state: t.state }] : [];
  });
}

/** An agent of a master's `GET_AGENTS` answer: its id and hostname (a DC/OS agent's is its private IP). */
export interface MasterAgentInfo {
  readonly agentId: string;
  readonly hostname: string;
}

/**
 * The agents of a Mesos master's `GET_AGENTS` answer (`master.proto`
 * `Response.GetAgents`: `agents[].agent_info` with `id` and `hostname`).
 * Entries missing either are left out. Pure.
 */
export function parseMasterAgents(answer: unknown): MasterAgentInfo[] {
  const agents = (answer as { get_agents?: { agents?: unknown } } | undefined)?.get_agents?.agents;
  if (!Array.isArray(agents)) return [];
  return agents.flatMap((a: { agent_info?: { id?: Id; hostname?: unknown } }) => {
    const agentId = idOf(a?.agent_info?.id);
    const hostname = a?.agent_info?.hostname;
    return agentId && typeof hostname === 'string' && hostname ? [{ agentId, hostname }] : [];
  });
}
