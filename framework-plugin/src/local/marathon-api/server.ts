import { acsTokenCheck } from '../../net/acsToken.js';
import { readBody } from '../../net/readBody.js';
import { serve, type Served } from '../../net/serve.js';
import Koa, { type Context } from 'koa';
import type { Logger } from 'pino';
import { publicError, SipError } from '../../core/errors/SipError.js';
import type { ValidatedApp } from '../../core/marathon/appDefinition.js';
import type { EventBus } from '../../core/marathon/events.js';
import type { AppView, Deployment, TaskView } from '../../core/marathon/views.js';
import { parseAppDefinition } from '../../core/marathon/appDefinition.js';
import { MarathonValidationError } from '../../core/marathon/validationError.js';

/**
 * The scheduler behind the API: what `/v2/apps`, `/v2/tasks`,
 * `/v2/deployments` and `/v2/events` read and change.
 */
export interface MarathonBackend {
  readonly events: Pick<EventBus, 'publish' | 'subscribe'>;
  /** @throws SipError `SIP_APP_EXISTS` */
  addApp(app: ValidatedApp): Promise<{ app: AppView; deployment: Deployment }>;
  putApp(app: ValidatedApp): Promise<Deployment>;
  /** @throws SipError `SIP_APP_NOT_FOUND` */
  removeApp(id: string): Promise<Deployment>;
  /** @throws SipError `SIP_APP_NOT_FOUND` */
  restartApp(id: string): Promise<Deployment>;
  getApp(id: string, withTasks?: boolean): AppView | undefined;
  listApps(withTasks?: boolean): AppView[];
  tasks(appId?: string): TaskView[];
  deployments(): Deployment[];
}

/** Dependencies of {@link createMarathonApi}. */
export interface MarathonApiDeps {
  cluster: MarathonBackend;
  /**
   * The ACS token every request but `GET /ping` must carry as
   * `Authorization: token=<token>`, as on a DC/OS cluster in strict mode.
   */
  token: string;
  logger: Logger;
  /** Reported by `/v2/info`. */
  frameworkId?: string;
}

const MAX_BODY = 1024 * 1024;

/**
 * A Marathon-compatible REST API over the local cluster: `/v2/apps`
 * (POST, GET, PUT, DELETE, `/tasks`, `/restart`), `/v2/deployments`,
 * `/v2/info`, `/ping`, and `/v2/events` as Server-Sent Events. Shapes and
 * status codes follow Marathon's (422 validation details, 409, 404). Every
 * route but `/ping` needs the ACS token (401 and an `acsjwt` challenge
 * otherwise), as Admin Router enforces on DC/OS in strict mode.
 */
export function createMarathonApi(deps: MarathonApiDeps): Koa {
  const app = new Koa();
  app.silent = true;
  const { cluster } = deps;

  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      // Status and whether the message may be shown come from the error catalogue.
      const answer = publicError(err);
      ctx.status = answer.status;
      ctx.body = err instanceof MarathonValidationError ? err.body : { message: answer.message };
      if (answer.status >= 500) deps.logger.error({ code: answer.code, err: { name: (err as Error).name } }, 'marathon api error');
    }
  });

  const authorized = acsTokenCheck(deps.token);
  app.use(async (ctx) => {
    const path = ctx.path.replace(/\/+$/, '') || '/';
    const method = ctx.method;
    if (path === '/ping' && method === 'GET') {
      ctx.type = 'text/plain';
      ctx.body = 'pong';
      return;
    }
    if (!authorized(ctx.get('authorization'))) {
      ctx.set('WWW-Authenticate', 'acsjwt');
      throw new SipError('SIP_UNAUTHORIZED', 'a valid "Authorization: token=<ACS token>" header is required');
    }
    if (path === '/v2/info' && method === 'GET') {
      ctx.body = {
        name: 'marathon',
        version: '1.11.0-sip-local',
        elected: true,
        leader: ctx.host,
        frameworkId: deps.frameworkId ?? 'sip-local-framework',
        marathon_config: { features: ['secrets'], local_cluster: true },
      };
      return;
    }
    if (path === '/v2/deployments' && method === 'GET') {
      ctx.body = cluster.deployments();
      return;
    }
    if (path === '/v2/events' && method === 'GET') return events(ctx, cluster);
    if (path === '/v2/tasks' && method === 'GET') {
      ctx.body = { tasks: cluster.tasks() };
      return;
    }
    if (path === '/v2/apps') {
      if (method === 'GET') {
        const embed = [ctx.query.embed ?? []].flat();
        ctx.body = { apps: cluster.listApps(embed.includes('apps.tasks')) };
        return;
      }
      if (method === 'POST') {
        const def = parseAppDefinition(await readBody(ctx.req, MAX_BODY));
        const { app, deployment } = await cluster.addApp(def);
        cluster.events.publish('api_post_event', { clientIp: ctx.ip, uri: `/v2/apps${def.id}`, appDefinition: def });
        ctx.status = 201;
        ctx.set('Location', `/v2/apps${def.id}`);
        ctx.set('Marathon-Deployment-Id', deployment.id);
        ctx.body = { ...app, deployments: [{ id: deployment.id }] };
        return;
      }
    }
    const m = /^\/v2\/apps(\/.+?)(\/tasks|\/restart)?$/.exec(path);
    if (m?.[1]) {
      const id = m[1];
      const suffix = m[2];
      if (suffix === '/tasks' && method === 'GET') {
        if (!cluster.getApp(id, false)) throw new SipError('SIP_APP_NOT_FOUND', `App '${id}' does not exist`);
        ctx.body = { tasks: cluster.tasks(id) };
        return;
      }
      if (suffix === '/restart' && method === 'POST') {
        const d = await cluster.restartApp(id);
        ctx.body = { deploymentId: d.id, version: d.version };
        return;
      }
      if (!suffix && method === 'GET') {
        const found = cluster.getApp(id, true);
        if (!found) throw new SipError('SIP_APP_NOT_FOUND', `App '${id}' does not exist`);
        ctx.body = { app: found };
        return;
      }
      if (!suffix && method === 'PUT') {
        const def = parseAppDefinition({ ...jsonObject((await readBody(ctx.req, MAX_BODY)) || '{}'), id });
        const d = await cluster.putApp(def);
        cluster.events.publish('api_post_event', { clientIp: ctx.ip, uri: `/v2/apps${id}`, appDefinition: def });
        ctx.body = { deploymentId: d.id, version: d.version };
        return;
      }
      if (!suffix && method === 'DELETE') {
        const d = await cluster.removeApp(id);
        ctx.body = { deploymentId: d.id, version: d.version };
        return;
      }
    }
    ctx.status = 404;
    ctx.body = { message: 'URI not found' };
  });
  return app;
}

/** A request body that must be a JSON object, or Marathon's 400. */
function jsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new MarathonValidationError(400, [{ path: '/', errors: [`error.invalid.json: ${(err as Error).message}`] }]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MarathonValidationError(400, [{ path: '/', errors: ['error.expected.jsobject'] }]);
  return value as Record<string, unknown>;
}

/** `GET /v2/events`: Server-Sent Events, first `event_stream_attached`, `?event_type=` filters. */
function events(ctx: Context, cluster: MarathonBackend): void {
  if (!(ctx.get('accept') || '').includes('text/event-stream')) {
    ctx.status = 405;
    ctx.body = { message: 'use Accept: text/event-stream' };
    return;
  }
  const wanted = new Set([ctx.query.event_type ?? []].flat());
  ctx.respond = false;
  const res = ctx.res;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const write = (e: { eventType: string }): void => void res.write(`event: ${e.eventType}\ndata: ${JSON.stringify(e)}\n\n`);
  const send = (e: { eventType: string }): void => {
    if (wanted.size === 0 || wanted.has(e.eventType)) write(e);
  };
  // Always sent first, whatever the filter: tells the client it is attached.
  write({ eventType: 'event_stream_attached', remoteAddress: ctx.ip, timestamp: new Date().toISOString() } as { eventType: string });
  const unsubscribe = cluster.events.subscribe(send);
  const keepAlive = setInterval(() => res.write('\n'), 15_000);
  ctx.req.once('close', () => {
    clearInterval(keepAlive);
    unsubscribe();
  });
}

/** A running Marathon API. */
export type MarathonServer = Served;

/** Serves {@link createMarathonApi} on loopback (port 0 or omitted = a free one). */
export function startMarathonServer(deps: MarathonApiDeps & { host?: string; port?: number }): Promise<MarathonServer> {
  return serve(createMarathonApi(deps).callback(), deps);
}
