import Koa from 'koa';
import type { Logger } from 'pino';
import type { BinappConfig } from './config/config.js';
import { basicAuth } from './http/basicAuth.js';
import { errorHandler } from './http/errorHandler.js';
import type { BinappMetrics } from './http/metrics.js';
import { requestLog } from './http/requestLog.js';
import { binRoutes } from './routes/bins.js';
import { healthRoutes } from './routes/health.js';
import type { BinStore } from './store/BinStore.js';

/** Everything {@link createApp} needs, injected. */
export interface AppDeps {
  config: Pick<BinappConfig, 'user' | 'pass' | 'prefix' | 'maxBytes'> & Partial<Pick<BinappConfig, 'bodyIdleTimeoutMs'>>;
  store: BinStore;
  logger: Logger;
  metrics: BinappMetrics;
  isDraining?: () => boolean;
  newId?: () => string;
}

/** Builds binapp's koa application from its dependencies; starts nothing. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.silent = true; // errors are logged by errorHandler, never printed raw
  const bins = binRoutes({
    store: deps.store,
    metrics: deps.metrics,
    auth: basicAuth(deps.config.user, deps.config.pass),
    prefix: deps.config.prefix,
    maxBytes: deps.config.maxBytes,
    bodyIdleTimeoutMs: deps.config.bodyIdleTimeoutMs ?? 30_000,
    ...(deps.newId ? { newId: deps.newId } : {}),
  });
  const health = healthRoutes({
    store: deps.store,
    metrics: deps.metrics,
    logger: deps.logger,
    isDraining: deps.isDraining ?? (() => false),
  });
  app.use(requestLog(deps.logger, deps.metrics));
  app.use(errorHandler(deps.logger, deps.metrics));
  app.use(health.routes()).use(health.allowedMethods());
  app.use(bins.routes()).use(bins.allowedMethods());
  return app;
}
