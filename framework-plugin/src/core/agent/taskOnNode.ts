/**
 * The server's question before any role is looked at: is task T, named by
 * the agent of node N, running on N, in the masters' view? Answered from the
 * Mesos master's `GET_TASKS` and Marathon's own record of the task, never
 * from what the agent says about the task's app. Pure.
 */

/** A task as the Mesos master lists it (`GET_TASKS`). */
export interface MasterTask {
  readonly taskId: string;
  readonly agentId: string;
  readonly frameworkId: string;
  readonly state: string;
}

/** A task as Marathon records it (`GET /v2/tasks`, `/v2/apps/{id}/tasks`). */
export interface MarathonTask {
  readonly taskId: string;
  readonly appId: string;
  readonly agentId: string;
  readonly state: string;
}

/** What the server knows when it decides. */
export interface MastersView {
  /** The master's tasks (Marathon's framework and others). */
  readonly masterTasks: readonly MasterTask[];
  /** Marathon's framework id (`/v2/info`). */
  readonly marathonFrameworkId: string;
  /** Marathon's record of the task, if it has one. */
  readonly marathonTask: MarathonTask | undefined;
}

/** The verdict: the app the task belongs to, or why not, with a stable code. */
export type TaskOnNode =
  | { readonly ok: true; readonly appId: string }
  | { readonly ok: false; readonly code: 'SIP_SERVER_NOT_ON_NODE' | 'SIP_SERVER_NOT_RUNNING' | 'SIP_SERVER_NOT_MARATHON'; readonly reason: string };

const LIVE = new Set(['TASK_RUNNING', 'TASK_STARTING', 'TASK_KILLING']);

/**
 * Whether `taskId`, asked for by the agent of `nodeAgentId` (proven, not
 * claimed), runs there: the master lists it on that agent, live, under
 * Marathon's framework, and Marathon records it for an app on the same
 * agent. Every other case is refused, naming what did not hold.
 */
export function taskOnNode(nodeAgentId: string, taskId: string, view: MastersView): TaskOnNode {
  // Task ids are unique only within a framework: another framework's task of the same name is not this one.
  const named = view.masterTasks.filter((t) => t.taskId === taskId);
  const seen = named.filter((t) => t.frameworkId === view.marathonFrameworkId);
  if (seen.length === 0 && named.length > 0) {
    return { ok: false, code: 'SIP_SERVER_NOT_MARATHON', reason: `task ${taskId} belongs to framework ${named[0]!.frameworkId}, not Marathon's` };
  }
  const here = seen.find((t) => t.agentId === nodeAgentId);
  if (!here) {
    return seen.length > 0
      ? { ok: false, code: 'SIP_SERVER_NOT_ON_NODE', reason: `task ${taskId} runs on another agent than ${nodeAgentId}, which asked for it` }
      : { ok: false, code: 'SIP_SERVER_NOT_RUNNING', reason: `the Mesos master lists no task ${taskId}` };
  }
  if (!LIVE.has(here.state)) return { ok: false, code: 'SIP_SERVER_NOT_RUNNING', reason: `task ${taskId} is ${here.state}, not running` };
  const m = view.marathonTask;
  if (!m || m.taskId !== taskId) return { ok: false, code: 'SIP_SERVER_NOT_MARATHON', reason: `Marathon has no task ${taskId}` };
  if (m.agentId !== nodeAgentId) {
    return { ok: false, code: 'SIP_SERVER_NOT_ON_NODE', reason: `Marathon places task ${taskId} on another agent than ${nodeAgentId}` };
  }
  if (!LIVE.has(m.state)) return { ok: false, code: 'SIP_SERVER_NOT_RUNNING', reason: `Marathon has task ${taskId} as ${m.state}` };
  return { ok: true, appId: m.appId };
}
