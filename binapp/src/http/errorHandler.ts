import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { BinappError } from '../errors.js';
import { StoreError } from '../store/BinStore.js';
import type { BinappMetrics } from './metrics.js';

/** Maps a store failure to the client-facing 502 error. */
export function upstreamError(err: StoreError): BinappError {
  const code = err.failure === 'denied' ? 'BINAPP_UPSTREAM_DENIED' : 'BINAPP_UPSTREAM_FAILED';
  return new BinappError(code, 502, `AWS step ${err.step} ${err.failure === 'denied' ? 'was denied' : 'failed'} (${err.awsCode})`, {
    step: err.step,
    cause: err,
  });
}

/**
 * Renders every error as a small body: `{"code","message","step"}` for JSON
 * clients, one text line otherwise. Unexpected errors become a bare 500; only
 * errors marked `expose` show their message.
 */
export function errorHandler(logger: Logger, metrics: BinappMetrics): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (thrown) {
      let err = thrown;
      if (err instanceof StoreError) {
        metrics.s3Errors.inc({ step: err.step, code: err.awsCode });
        err = upstreamError(err);
      }
      const known = err instanceof BinappError ? err : undefined;
      const status = known?.status ?? 500;
      const body = {
        code: known?.code ?? 'BINAPP_INTERNAL',
        message: known?.message ?? 'internal error',
        ...(known?.step ? { step: known.step } : {}),
      };
      const level = status >= 500 ? 'error' : 'warn';
      logger[level](
        {
          code: body.code,
          step: body.step,
          status,
          method: ctx.method,
          path: ctx.path,
          ...(known ? {} : { err: { name: (err as Error)?.name, message: (err as Error)?.message } }),
        },
        body.message,
      );
      ctx.status = status;
      if (ctx.accepts('text/plain', 'application/json') === 'application/json') ctx.body = body;
      else {
        ctx.type = 'text/plain';
        ctx.body = `${body.message}\n`;
      }
    }
  };
}
