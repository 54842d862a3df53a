import { acsAuthenticator } from '../../net/httpAuthenticator.js';
import { decodePath } from '../../net/decodePath.js';
import { BodyTooLargeError, readBody } from '../../net/readBody.js';
import { serve, type Served } from '../../net/serve.js';
import Koa from 'koa';
import { publicError, SipError } from '../../core/errors/SipError.js';
import type { Logger } from 'pino';
import { SecretErrorCode, SecretStoreError } from '../../core/secrets/errors.js';
import { MAX_SECRET_BYTES, type SecretStore } from '../../core/secrets/SecretStore.js';

/** Dependencies of {@link createSecretsApi}. */
export interface SecretsApiDeps {
  store: SecretStore;
  /** The ACS token clients must send as `Authorization: token=<token>`. */
  token: string;
  /** Tokens a login issued (service accounts), accepted beside `token` until they expire: their principal. */
  issued?: (token: string) => string | undefined;
  /**
   * Whether a principal may read or change secret values (DC/OS's
   * `dcos:secrets:default:/…` permissions). Default: every authenticated
   * one. With sip server, only the server's account and the cluster's
   * token may; sip agent's may not.
   */
  mayAccess?: (principal: string) => boolean;
  logger: Logger;
}

const PREFIX = /^\/secrets\/v1\/secret\/([^/]+)(?:\/(.*))?$/;
// JSON escaping can at most sextuple a character (\u00XX); bound the body accordingly.
const MAX_BODY = MAX_SECRET_BYTES * 6 + 4096;

async function readJson(req: NodeJS.ReadableStream): Promise<unknown> {
  let text: string;
  try {
    text = await readBody(req, MAX_BODY);
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw new SecretStoreError(SecretErrorCode.tooLarge, err.message);
    throw err;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new SecretStoreError(SecretErrorCode.invalidValue, 'body must be JSON: {"value": "<secret>"}');
  }
}

function secretValue(body: unknown): string {
  const value = (body as { value?: unknown } | null)?.value;
  if (typeof value !== 'string') throw new SecretStoreError(SecretErrorCode.invalidValue, 'body must be JSON: {"value": "<secret>"}');
  return value;
}

/**
 * The DC/OS Secrets API (`/secrets/v1/secret/default/<path>`) over any
 * {@link SecretStore}: GET → `{"value"}`, `?list=true` → `{"array"}`, PUT → 201
 * (409 if it exists), PATCH → 204, DELETE → 204, 404 for unknown secrets,
 * `Authorization: token=<ACS token>` required. Errors are
 * `{"code","message"}`; values are never logged.
 */
export function createSecretsApi(deps: SecretsApiDeps): Koa {
  const app = new Koa();
  app.silent = true;
  const authenticator = acsAuthenticator(deps.token, deps.issued);
  app.use(async (ctx) => {
    const started = Date.now();
    try {
      const m = PREFIX.exec(ctx.path);
      const principal = authenticator.check(ctx.get('authorization') || undefined);
      if (principal === undefined) {
        ctx.set('WWW-Authenticate', 'acsjwt');
        throw new SecretStoreError(SecretErrorCode.unauthorized, 'a valid "Authorization: token=<ACS token>" header is required');
      }
      if (!m) throw new SecretStoreError(SecretErrorCode.notFound, `no such endpoint: ${ctx.method} ${ctx.path}`);
      if (deps.mayAccess && !deps.mayAccess(principal) && !(ctx.method === 'GET' && ctx.query.list === 'true'))
        throw new SipError(SecretErrorCode.unauthorized, `${principal} may not read or change secrets (dcos:secrets:default:/${m[2] ?? ''})`, {
          status: 403,
          expose: true,
        });
      if (m[1] !== 'default') throw new SecretStoreError(SecretErrorCode.notFound, `secret store "${m[1]}" does not exist; only "default" is supported`);
      const path = decodePath(m[2] ?? '');
      switch (ctx.method) {
        case 'GET':
          if (ctx.query.list === 'true') {
            ctx.body = { array: await deps.store.list(path) };
          } else {
            ctx.body = { value: await deps.store.get(path) };
          }
          break;
        case 'PUT':
          await deps.store.create(path, secretValue(await readJson(ctx.req)));
          ctx.status = 201;
          break;
        case 'PATCH':
          await deps.store.update(path, secretValue(await readJson(ctx.req)));
          ctx.status = 204;
          break;
        case 'DELETE':
          await deps.store.delete(path);
          ctx.status = 204;
          break;
        default:
          throw new SipError('SIP_METHOD_NOT_ALLOWED', `${ctx.method} is not supported`);
      }
    } catch (err) {
      // Status and whether the message may be shown come from the error catalogue.
      const answer = publicError(err);
      const code = answer.code ?? 'SIP_SECRET_STORE_ERROR';
      ctx.status = answer.status;
      ctx.body = { code, message: answer.status < 500 ? answer.message : 'the secret store failed' };
      if (ctx.status >= 500) deps.logger.error({ code, err: { name: (err as Error).name, code: (err as { code?: string }).code } }, 'secrets API error');
    } finally {
      deps.logger.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Date.now() - started }, 'secrets API request');
    }
  });
  return app;
}

/** A running secrets API. */
export type SecretsServer = Served;

/** Serves {@link createSecretsApi} on loopback (port 0 or omitted = a free one). */
export function startSecretsServer(deps: SecretsApiDeps & { host?: string; port?: number }): Promise<SecretsServer> {
  return serve(createSecretsApi(deps).callback(), deps);
}
