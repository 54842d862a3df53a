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
