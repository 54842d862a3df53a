import Koa from 'koa';
import type { Logger } from 'pino';
import { publicError, SipError } from '../../core/errors/SipError.js';
import { acsTokenCheck } from '../../net/acsToken.js';
import { readBody } from '../../net/readBody.js';
import { serve, type Served } from '../../net/serve.js';

/** What the operator API reads from the scheduler: live tasks' containers. */
export interface ContainerSource {
  containers(): Array<{ containerId: string; taskId: string; frameworkId: string }>;
}

/** Dependencies of {@link createMesosAgentApi}. */
export interface MesosAgentApiDeps {
  source: ContainerSource;
  /** The ACS token callers must send (`Authorization: token=…`), as behind Admin Router. */
  token: string;
  logger: Logger;
  /** The agent id reported in container statuses. */
  agentId?: string;
}

/**
 * The subset of the Mesos agent operator API (v1, JSON) that `sip agent`
 * uses, over the local cluster: `POST /api/v1` with `{"type":
 * "GET_CONTAINERS"}` answers every live task's container as a Mesos agent
 * does for command tasks (the executor id is the task id). Other calls
 * answer 501 naming the call.
 */
export function createMesosAgentApi(deps: MesosAgentApiDeps): Koa {
  const app = new Koa();
  app.silent = true;
  const authorized = acsTokenCheck(deps.token);
  app.use(async (ctx) => {
    try {
      if (!authorized(ctx.get('authorization'))) throw new SipError('SIP_UNAUTHORIZED', 'a valid "Authorization: token=<ACS token>" header is required', { expose: true });
      if (ctx.path !== '/api/v1') throw new SipError('SIP_URI_NOT_SUPPORTED', `${ctx.path} is not served (only POST /api/v1)`, { expose: true });
      if (ctx.method !== 'POST') throw new SipError('SIP_METHOD_NOT_ALLOWED', 'use POST /api/v1', { expose: true });
      let call: { type?: unknown };
      try {
        call = JSON.parse(await readBody(ctx.req, 64 * 1024)) as { type?: unknown };
      } catch {
        throw new SipError('SIP_BAD_REQUEST', 'the body must be a JSON call, e.g. {"type": "GET_CONTAINERS"}', { expose: true });
      }
      if (call?.type !== 'GET_CONTAINERS') {
        ctx.status = 501;
        ctx.body = { message: `call ${typeof call?.type === 'string' ? call.type.slice(0, 64) : '?'} is not served by the local agent (only GET_CONTAINERS)` };
        return;
      }
      ctx.body = {
        type: 'GET_CONTAINERS',
        get_containers: {
          containers: deps.source.containers().map((c) => ({
            framework_id: { value: c.frameworkId },
            executor_id: { value: c.taskId },
            executor_name: `Command Executor (Task: ${c.taskId})`,
            container_id: { value: c.containerId },
            container_status: { container_id: { value: c.containerId }, executor_pid: 0 },
            ...(deps.agentId ? { agent_id: { value: deps.agentId } } : {}),
          })),
        },
      };
    } catch (err) {
      const { status, message } = publicError(err);
      ctx.status = status;
      ctx.body = { message };
      if (status >= 500) deps.logger.error({ component: 'mesos-api', err: { message: (err as Error).message } }, 'mesos agent api error');
    }
  });
  return app;
}

/** {@link createMesosAgentApi} on loopback. */
export function startMesosAgentApi(deps: MesosAgentApiDeps & { port?: number }): Promise<Served> {
  return serve(createMesosAgentApi(deps).callback(), deps.port === undefined ? {} : { port: deps.port });
}
