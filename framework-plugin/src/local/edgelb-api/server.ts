import { autoPoolDocument } from '../edgelb/autoPoolDocument.js';
import Koa, { type Context } from 'koa';
import type { Logger } from 'pino';
import { publicError, SipError } from '../../core/errors/SipError.js';
import { acsTokenCheck } from '../../net/acsToken.js';
import { decodePath } from '../../net/decodePath.js';
import { readBody } from '../../net/readBody.js';
import { serve, type Served } from '../../net/serve.js';
import type { EdgeLb } from '../edgelb/controller.js';
import { PoolValidationError } from '../edgelb/poolRegistry.js';

/** Dependencies of {@link createEdgeLbApi}. */
export interface EdgeLbApiDeps {
  edgelb: EdgeLb;
  /** The ACS token clients must send as `Authorization: token=<token>`. */
  token: string;
  logger: Logger;
}

/** Where Admin Router serves Edge-LB on DC/OS; also accepted without it. */
export const EDGELB_BASE_PATH = '/service/edgelb';

async function jsonBody(ctx: Context): Promise<unknown> {
  const text = await readBody(ctx.req, 1024 * 1024);
  try {
    return JSON.parse(text);
  } catch {
    throw new PoolValidationError([{ path: '(root)', message: 'body must be a JSON Edge-LB V2 pool' }]);
  }
}

/**
 * Edge-LB's V2 Pool API over the local EdgeLB (`edge-lb-v2.yaml`):
 * `GET /ping`, `GET /v2/config`, `GET|POST /v2/pools`,
 * `GET|PUT|DELETE /v2/pools/{name}` (DELETE → 204),
 * `GET /v2/pools/{name}/lbconfig` (text), plus a local
 * `GET /v2/pools/{name}/status`. Errors are Edge-LB's `{code, message}`;
 * validation errors add `problems: [{path, message}]`. Every route needs
 * the cluster's ACS token, as Admin Router would.
 */
export function createEdgeLbApi(deps: EdgeLbApiDeps): Koa {
  const app = new Koa();
  app.silent = true;
  const authorized = acsTokenCheck(deps.token);
  const { pools } = deps.edgelb;

  app.use(async (ctx, next) => {
    try {
      if (!authorized(ctx.get('authorization')))
        throw new SipError('SIP_UNAUTHORIZED', 'a valid "Authorization: token=<ACS token>" header is required', { expose: true });
      await next();
    } catch (err) {
      // Status and whether the message may be shown come from the error catalogue.
      const { status, message } = publicError(err);
      ctx.status = status;
      ctx.body = {
        code: status,
        message,
        ...(err instanceof PoolValidationError ? { problems: err.problems } : {}),
      };
      if (status >= 500) deps.logger.error({ component: 'edgelb-api', err: { message: (err as Error).message } }, 'edgelb api error');
    }
  });

  app.use(async (ctx) => {
    const path = (ctx.path.startsWith(EDGELB_BASE_PATH) ? ctx.path.slice(EDGELB_BASE_PATH.length) : ctx.path).replace(/\/+$/, '') || '/';
    const m = /^\/v2\/pools\/([^/]+)(\/lbconfig|\/status)?$/.exec(path);
    const name = m ? decodePath(m[1]!) : '';
    const notFound = (): never => {
      throw new SipError('SIP_EDGELB_POOL_NOT_FOUND', `pool "${name}" does not exist`, { expose: true });
    };
    const route = `${ctx.method} ${m ? `/v2/pools/{name}${m[2] ?? ''}` : path}`;
    switch (route) {
      case 'GET /ping':
        ctx.type = 'text/plain';
        ctx.body = 'pong';
        return;
      case 'GET /local/health': {
        // Local extension: whether what EdgeLB serves is current (sip cluster status reads it).
        const { lastFailure, reloads, restarts, errors } = deps.edgelb.status();
        ctx.body = { current: !lastFailure, ...(lastFailure ? { lastFailure } : {}), reloads, restarts, appsLeftOut: errors.map((e) => e.appId) };
        return;
      }
      case 'GET /v2/config':
        ctx.body = { pools: pools.list() };
        return;
      case 'GET /v2/pools':
        // As Edge-LB lists them: the Pool API's pools, then the Auto Pools the labels made.
        ctx.body = [...pools.list(), ...deps.edgelb.autoPools().map(autoPoolDocument)];
        return;
      case 'POST /v2/pools':
        ctx.body = await pools.create(await jsonBody(ctx));
        deps.logger.info({ component: 'edgelb-api', pool: (ctx.body as { name: string }).name }, 'pool created');
        return;
      case 'GET /v2/pools/{name}': {
        const auto = deps.edgelb.autoPools().find((p) => p.name === name);
        ctx.body = pools.get(name) ?? (auto ? autoPoolDocument(auto) : notFound());
        return;
      }
      case 'PUT /v2/pools/{name}':
        ctx.body = await pools.update(name, await jsonBody(ctx));
        deps.logger.info({ component: 'edgelb-api', pool: name }, 'pool updated');
        return;
      case 'DELETE /v2/pools/{name}':
        await pools.delete(name);
        deps.logger.info({ component: 'edgelb-api', pool: name }, 'pool deleted');
        ctx.status = 204;
        return;
      case 'GET /v2/pools/{name}/lbconfig':
        ctx.type = 'text/plain';
        ctx.body = deps.edgelb.lbConfig(name) ?? notFound();
        return;
      case 'GET /v2/pools/{name}/status':
        ctx.body = (await deps.edgelb.poolStatus(name)) ?? notFound();
        return;
      default:
        ctx.status = 404;
        ctx.body = { code: 404, message: `no such endpoint: ${ctx.method} ${ctx.path}` };
    }
  });
  return app;
}

/** {@link createEdgeLbApi} listening on loopback. */
export function startEdgeLbApi(deps: EdgeLbApiDeps & { port?: number }): Promise<Served> {
  return serve(createEdgeLbApi(deps).callback(), deps.port === undefined ? {} : { port: deps.port });
}
