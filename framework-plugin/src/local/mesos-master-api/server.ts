import Koa from 'koa';
import type { Logger } from 'pino';
import type { TaskView } from '../../core/marathon/views.js';
import type { HttpAuthenticator } from '../../net/httpAuthenticator.js';
import { plainText, readOperatorCall } from '../operator-api/operatorCall.js';
import { serve, type Served } from '../../net/serve.js';

/** An agent as the master knows it. */
export interface MasterAgent {
  readonly id: string;
  readonly hostname: string;
  /** Where its agent operator API listens (`agent_info.port`). */
  readonly port: number;
  readonly attributes: Readonly<Record<string, string>>;
  readonly resources: { cpus: number; mem: number; ports: { from: number; to: number } };
  /** Removed (MARK_AGENT_GONE): no longer listed. */
  readonly gone: boolean;
}

/** What the master stand-in reads from, and asks of, the local cluster. */
export interface MasterSource {
  agents(): MasterAgent[];
  /** Live tasks of the cluster's one framework (Marathon's). */
  tasks(): TaskView[];
  readonly frameworkId: string;
  /** MARK_AGENT_GONE: the agent's tasks are gone, it is no longer used. Rejects for an unknown agent. */
  markGone(agentId: string): Promise<void>;
}

/** Dependencies of {@link createMesosMasterApi}. */
export interface MesosMasterApiDeps {
  source: MasterSource;
  /** Who may call (DC/OS: the ACS token); undefined: anyone (open-source default). */
  authenticator?: HttpAuthenticator;
  logger: Logger;
}

/** Call types of master.proto (`mesos.v1.master.Call.Type`): known ones the stand-in does not serve get 501. */
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
  'GET_AGENTS',
  'GET_FRAMEWORKS',
  'GET_EXECUTORS',
  'GET_OPERATIONS',
  'GET_TASKS',
  'GET_ROLES',
  'GET_WEIGHTS',
  'UPDATE_WEIGHTS',
  'GET_MASTER',
  'SUBSCRIBE',
  'RESERVE_RESOURCES',
  'UNRESERVE_RESOURCES',
  'CREATE_VOLUMES',
  'DESTROY_VOLUMES',
  'GROW_VOLUME',
  'SHRINK_VOLUME',
  'GET_MAINTENANCE_STATUS',
  'GET_MAINTENANCE_SCHEDULE',
  'UPDATE_MAINTENANCE_SCHEDULE',
  'START_MAINTENANCE',
  'STOP_MAINTENANCE',
  'DRAIN_AGENT',
  'DEACTIVATE_AGENT',
  'REACTIVATE_AGENT',
  'GET_QUOTA',
  'UPDATE_QUOTA',
  'SET_QUOTA',
  'REMOVE_QUOTA',
  'TEARDOWN',
  'MARK_AGENT_GONE',
]);

const scalar = (name: string, value: number): Record<string, unknown> => ({ name, role: '*', scalar: { value }, type: 'SCALAR' });
const ranges = (name: string, from: number, to: number): Record<string, unknown> => ({
  name,
  ranges: { range: [{ begin: from, end: to }] },
  role: '*',
  type: 'RANGES',
});
const nanos = (iso: string): number => Date.parse(iso) * 1e6;

/** An agent in GET_AGENTS's shape (master.proto `Response.GetAgents.Agent`, the docs' example). */
function agentJson(a: MasterAgent): Record<string, unknown> {
  const resources = [scalar('cpus', a.resources.cpus), scalar('mem', a.resources.mem), ranges('ports', a.resources.ports.from, a.resources.ports.to)];
  return {
    active: true,
    agent_info: {
      hostname: a.hostname,
      id: { value: a.id },
      port: a.port,
      resources,
      attributes: Object.entries(a.attributes).map(([name, value]) => ({ name, type: 'TEXT', text: { value } })),
    },
    pid: `slave(1)@${a.hostname}:${a.port}`,
    total_resources: resources,
    version: '1.11.0',
  };
}

/** A task in GET_TASKS's shape (mesos.proto `Task`): Marathon names it after its app (`/a/b` → `b.a`). */
function taskJson(t: TaskView, frameworkId: string): Record<string, unknown> {
  const state = t.state === 'TASK_KILLING' ? 'TASK_KILLING' : t.state;
  return {
    agent_id: { value: t.slaveId },
    framework_id: { value: frameworkId },
    name: t.appId.split('/').filter(Boolean).reverse().join('.'),
    task_id: { value: t.id },
    resources: t.ports.map((p) => ranges('ports', p, p)),
    state,
    status_update_state: state,
    statuses: [
      {
        agent_id: { value: t.slaveId },
        container_status: { network_infos: [{ ip_addresses: [{ ip_address: t.host }] }] },
        source: 'SOURCE_EXECUTOR',
        state,
        task_id: { value: t.id },
        timestamp: nanos(t.startedAt ?? t.stagedAt) / 1e9,
      },
    ],
  };
}

/**
 * The part of the Mesos master operator API (v1, JSON; apache/mesos
 * include/mesos/v1/master/master.proto, docs/operator-http-api.md) the
 * local cluster's several agents need, answering in the master's shapes:
 *
 * - `GET_AGENTS`: each agent still there, with `agent_info` (`id`,
 *   `hostname`, `port`, `resources`, TEXT `attributes`), `pid`, `version`.
 * - `GET_TASKS`: the live tasks of Marathon's framework, each with its
 *   `agent_id`, `state` and a status carrying the task's address.
 * - `MARK_AGENT_GONE` `{"mark_agent_gone":{"agent_id":{"value":…}}}`: the
 *   agent is gone for good: its tasks are lost and Marathon replaces them.
 * - Errors as Mesos writes them: plain text.
 */
export function createMesosMasterApi(deps: MesosMasterApiDeps): Koa {
  const app = new Koa();
  app.silent = true;
  const text = plainText;
  app.use(async (ctx) => {
    try {
      if (ctx.path !== '/api/v1') return text(ctx, 404, '');
      if (deps.authenticator && deps.authenticator.check(ctx.get('authorization') || undefined) === undefined) {
        ctx.set('WWW-Authenticate', deps.authenticator.challenge);
        return text(ctx, 401, '');
      }
      const call = (await readOperatorCall(ctx, KNOWN_CALLS, 'master')) as { type: string; mark_agent_gone?: { agent_id?: { value?: unknown } } } | undefined;
      if (!call) return;
      const type = call.type;
      const { source } = deps;
      switch (type) {
        case 'GET_AGENTS':
          ctx.type = 'application/json';
          ctx.body = {
            type,
            get_agents: {
              agents: source
                .agents()
                .filter((a) => !a.gone)
                .map(agentJson),
            },
          };
          return;
        case 'GET_TASKS':
          ctx.type = 'application/json';
          ctx.body = { type, get_tasks: { tasks: source.tasks().map((t) => taskJson(t, source.frameworkId)) } };
          return;
        case 'MARK_AGENT_GONE': {
          const id = call.mark_agent_gone?.agent_id?.value;
          if (typeof id !== 'string') return text(ctx, 400, "Expecting 'mark_agent_gone' to be present");
          const agent = source.agents().find((a) => a.id === id);
          if (!agent || agent.gone) return text(ctx, 404, `Agent '${id.slice(0, 100)}' not found`);
          await source.markGone(id);
          deps.logger.warn({ component: 'mesos-master', agentId: id }, 'agent marked gone');
          ctx.status = 200;
          ctx.body = '';
          return;
        }
        default:
          return text(ctx, 501, `${type} is not served by the local master (only GET_AGENTS, GET_TASKS and MARK_AGENT_GONE)`);
      }
    } catch (err) {
      deps.logger.error({ component: 'mesos-master', err: { message: (err as Error).message } }, 'mesos master api error');
      text(ctx, 500, 'Internal Server Error');
    }
  });
  return app;
}

/** {@link createMesosMasterApi} on loopback. */
export function startMesosMasterApi(deps: MesosMasterApiDeps & { port?: number }): Promise<Served> {
  return serve(createMesosMasterApi(deps).callback(), deps.port === undefined ? {} : { port: deps.port });
}
