import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { BinappMetrics } from './metrics.js';

/**
 * One structured log line and one metrics sample per request. Logs method,
 * route, status and duration; never headers or bodies.
 */
export function requestLog(logger: Logger, metrics: BinappMetrics): Middleware {
  return async (ctx, next) => {
    const start = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
      const routeLabel = typeof route === 'string' ? route : 'unmatched';
      metrics.requests.inc({ method: ctx.method, route: routeLabel, status: String(ctx.status) });
      if (routeLabel !== '/healthz' && routeLabel !== '/metrics') {
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        logger.info({ method: ctx.method, route: routeLabel, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
      }
    }
  };
}
