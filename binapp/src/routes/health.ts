import Router from '@koa/router';
import type { Logger } from 'pino';
import type { BinappMetrics } from '../http/metrics.js';
import { StoreError, type BinStore } from '../store/BinStore.js';

/** Dependencies of {@link healthRoutes}. */
export interface HealthRoutesDeps {
  store: BinStore;
  metrics: BinappMetrics;
  logger: Logger;
  /** True once shutdown began: `/ping` then fails so load balancers drain this instance. */
  isDraining: () => boolean;
}

/**
 * `GET /ping` (readiness: the bucket is reachable with the app's own
 * credentials; the Marathon health check), `GET /healthz` (liveness) and
 * `GET /metrics` (Prometheus).
 */
export function healthRoutes(deps: HealthRoutesDeps): Router {
  const router = new Router();

  router.get('/ping', async (ctx) => {
    ctx.type = 'text/plain';
    if (deps.isDraining()) {
      ctx.status = 503;
      ctx.body = 'shutting down\n';
      return;
    }
    try {
      await deps.store.ping();
      ctx.body = 'Pong!\n';
    } catch (err) {
      const reason = err instanceof StoreError ? err.message : 'unexpected error';
      if (err instanceof StoreError) deps.metrics.s3Errors.inc({ step: err.step, code: err.awsCode });
      deps.logger.warn({ code: 'BINAPP_BUCKET_UNREACHABLE', reason }, 'ping failed');
      ctx.status = 503;
      ctx.body = `bucket not reachable: ${reason}\n`;
    }
  });

  router.get('/healthz', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'ok\n';
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });

  return router;
}
