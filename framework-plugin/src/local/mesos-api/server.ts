import Koa from 'koa';
import { plainText, readOperatorCall } from '../operator-api/operatorCall.js';
import type { Logger } from 'pino';
import type { HttpAuthenticator } from '../../net/httpAuthenticator.js';
import { serve, type Served } from '../../net/serve.js';

/** A live executor container on the local agent, as the scheduler knows it. */
export interface LocalContainer {
  readonly containerId: string;
  readonly taskId: string;
  readonly frameworkId: string;
  /** The task's command (Marathon's `cmd`; run by `sh -c`), for the executor's name. */
  readonly command?: string;
  /** The executor's pid (the task's first process here), when running. */
  readonly pid?: number;
  /** The sandbox (the executor's run directory). */
  readonly directory: string;
}

/** What one agent's operator API reads from the scheduler: its live tasks' containers, its id and address. */
export interface ContainerSource {
  containers(): LocalContainer[];
  readonly agentId: string;
  readonly hostname: string;
}

/** Dependencies of {@link createMesosAgentApi}. */
export interface MesosAgentApiDeps {
  source: ContainerSource;
  /**
   * Who may call, as the Mesos agent decides it: undefined for nobody asked
   * (open-source default), HTTP Basic (`--authenticate_http_readwrite` with
   * `--http_credentials`, realm `mesos-agent-readwrite`), or DC/OS's ACS token.
   */
  authenticator?: HttpAuthenticator;
  /**
   * Which containers a principal may view (`VIEW_CONTAINER`); default all.
   * Mesos leaves the others out of `GET_CONTAINERS` without a word.
   */
  mayView?: (principal: string | undefined, container: LocalContainer) => boolean;
  logger: Logger;
}

/**
 * The executor name Mesos gives a command task's executor
 * (apache/mesos src/slave/slave.cpp, `getExecutorInfo`): shell commands
 * longer than 15 characters are cut to 12 and `...`.
 */
export function commandExecutorName(taskId: string, command: string | undefined): string {
  const what = command === undefined ? 'NO COMMAND' : `sh -c '${command.length > 15 ? `${command.slice(0, 12)}...` : command}'`;
  return `Command Executor (Task: ${taskId}) (Command: ${what})`;
}

/** Mesos's realm for `/api/v1` (src/slave/constants.hpp `READWRITE_HTTP_AUTHENTICATION_REALM`). */
export const MESOS_AGENT_REALM = 'mesos-agent-readwrite';
/** What the agent says to a call type it knows but the local agent does not serve. */
const KNOWN_CALLS = new Set([
  'GET_HEALTH',
  'GET_FLAGS',
  'GET_VERSION',
  'GET_METRICS',
  'GET_LOGGING_LEVEL',
  'SET_LOGGING_LEVEL',
  'LIST_FILES',
  'READ_FILE',
  'GET_STATE',
  'GET_FRAMEWORKS',
  'GET_EXECUTORS',
  'GET_OPERATIONS',
  'GET_TASKS',
  'GET_AGENT',
  'GET_RESOURCE_PROVIDERS',
  'GET_CONTAINERS',
  'LAUNCH_NESTED_CONTAINER',
  'WAIT_NESTED_CONTAINER',
  'KILL_NESTED_CONTAINER',
  'REMOVE_NESTED_CONTAINER',
  'LAUNCH_NESTED_CONTAINER_SESSION',
  'ATTACH_CONTAINER_INPUT',
  'ATTACH_CONTAINER_OUTPUT',
  'LAUNCH_CONTAINER',
  'WAIT_CONTAINER',
  'KILL_CONTAINER',
  'REMOVE_CONTAINER',
  'ADD_RESOURCE_PROVIDER_CONFIG',
  'UPDATE_RESOURCE_PROVIDER_CONFIG',
  'REMOVE_RESOURCE_PROVIDER_CONFIG',
  'MARK_RESOURCE_PROVIDER_GONE',
  'PRUNE_IMAGES',
]);

/**
 * The part of the Mesos agent operator API (v1, JSON; apache/mesos
 * include/mesos/v1/agent/agent.proto, src/slave/http.cpp) that `sip agent`
 * uses, over the local cluster, answering what a Mesos 1.11 agent answers
 * and nothing more:
 *
 * - `POST /api/v1` `{"type":"GET_CONTAINERS","get_containers":{"show_nested":…}}`:
 *   each live executor container with `framework_id`, `executor_id` (the
 *   task id, as for Mesos's command executor), `executor_name` in the
 *   command executor's form, `container_id`, `container_status`
 *   (`container_id`, `executor_pid`). No nested containers run here, so
 *   `show_nested` adds none. Containers the caller may not view are left out
 *   silently, as Mesos does.
 * - `GET_AGENT`: `agent_info` with the agent's `id` and `hostname`.
 * - `GET /state` (alias `/slave(1)/state`): the agent's `id`, `hostname` and
 *   `frameworks`, each with its live `executors` as src/slave/http.cpp's
 *   `ExecutorWriter` writes them (`id`, `name`, `source`, `container`,
 *   `directory`, `tasks`), viewable ones only.
 * - Errors as Mesos writes them: plain text (`Failed to parse body into
 *   Call: …`, `Expecting one of { 'POST' }, but received 'GET'`), an empty
 *   401 with a `WWW-Authenticate` challenge (`Basic realm="mesos-agent-readwrite"`,
 *   or `acsjwt` behind DC/OS's authenticator).
 */
export function createMesosAgentApi(deps: MesosAgentApiDeps): Koa {
  const app = new Koa();
  app.silent = true;
  const text = plainText;
  app.use(async (ctx) => {
    try {
      const state = ctx.path === '/state' || ctx.path === '/slave(1)/state';
      if (ctx.path !== '/api/v1' && !state) return text(ctx, 404, '');
      let principal: string | undefined;
      if (deps.authenticator) {
        principal = deps.authenticator.check(ctx.get('authorization') || undefined);
        if (principal === undefined) {
          ctx.set('WWW-Authenticate', deps.authenticator.challenge);
          return text(ctx, 401, '');
        }
      }
      if (state) {
        if (ctx.method !== 'GET') return text(ctx, 405, `Expecting one of { 'GET' }, but received '${ctx.method}'`);
        ctx.type = 'application/json';
        ctx.body = stateOf(deps.source, (c) => deps.mayView?.(principal, c) ?? true);
        return;
      }
      const call = await readOperatorCall(ctx, KNOWN_CALLS, 'agent');
      if (!call) return;
      ctx.type = 'application/json';
      if (call.type === 'GET_AGENT') {
        ctx.body = { type: 'GET_AGENT', get_agent: { agent_info: { id: { value: deps.source.agentId }, hostname: deps.source.hostname, port: 5051 } } };
        return;
      }
      if (call.type !== 'GET_CONTAINERS') return text(ctx, 501, `${call.type} is not served by the local agent (only GET_CONTAINERS and GET_AGENT)`);
      const viewable = deps.source.containers().filter((c) => deps.mayView?.(principal, c) ?? true);
      ctx.body = {
        type: 'GET_CONTAINERS',
        get_containers: {
          containers: viewable.map((c) => ({
            framework_id: { value: c.frameworkId },
            executor_id: { value: c.taskId },
            executor_name: commandExecutorName(c.taskId, c.command),
            container_id: { value: c.containerId },
            container_status: { container_id: { value: c.containerId }, ...(c.pid ? { executor_pid: c.pid } : {}) },
          })),
        },
      };
    } catch (err) {
      deps.logger.error({ component: 'mesos-api', err: { message: (err as Error).message } }, 'mesos agent api error');
      text(ctx, 500, 'Internal Server Error');
    }
  });
  return app;
}

/** The agent's `/state` document: the fields of src/slave/http.cpp's `ExecutorWriter` the local agent knows. */
function stateOf(source: ContainerSource, mayView: (c: LocalContainer) => boolean): Record<string, unknown> {
  const byFramework = new Map<string, LocalContainer[]>();
  for (const c of source.containers().filter(mayView)) byFramework.set(c.frameworkId, [...(byFramework.get(c.frameworkId) ?? []), c]);
  return {
    id: source.agentId,
    hostname: source.hostname,
    frameworks: [...byFramework].map(([id, list]) => ({
      id,
      name: 'marathon',
      executors: list.map((c) => ({
        id: c.taskId,
        name: commandExecutorName(c.taskId, c.command),
        source: c.taskId,
        container: c.containerId,
        directory: c.directory,
        tasks: [{ id: c.taskId, framework_id: id, executor_id: '', slave_id: source.agentId, state: 'TASK_RUNNING' }],
      })),
    })),
  };
}

/** {@link createMesosAgentApi} on loopback. */
export function startMesosAgentApi(deps: MesosAgentApiDeps & { port?: number }): Promise<Served> {
  return serve(createMesosAgentApi(deps).callback(), deps.port === undefined ? {} : { port: deps.port });
}
