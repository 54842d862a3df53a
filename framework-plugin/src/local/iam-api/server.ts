import { createPublicKey, verify } from 'node:crypto';
import Koa from 'koa';
import type { Logger } from 'pino';
import { acsTokenCheck } from '../../net/acsToken.js';
import { readBody } from '../../net/readBody.js';
import { serve, type Served } from '../../net/serve.js';
import type { TokenIssuer } from './tokenIssuer.js';

/** Dependencies of {@link createIamApi}. */
export interface IamApiDeps {
  /** Service accounts: uid → RSA public key (PEM). */
  accounts: Map<string, string>;
  issuer: TokenIssuer;
  /** The cluster's superuser token: only it may create service accounts. */
  token: string;
  logger: Logger;
  now?: () => number;
}

const UID = /^[a-zA-Z0-9._-]{1,96}$/;

/** DC/OS IAM's error body (`{title, description, code}`). */
function refuse(ctx: Koa.Context, status: number, code: string, description: string): void {
  ctx.status = status;
  ctx.body = { title: status === 401 ? 'Unauthorized' : status === 409 ? 'Conflict' : 'Bad Request', description, code };
}

/**
 * The part of DC/OS's IAM (Bouncer) that service accounts use, for the
 * local cluster:
 *
 * - `PUT /acs/api/v1/users/{uid}` `{"description","public_key"}` with the
 *   superuser's token: creates a service account (201; 409 if it exists),
 *   as `dcos security org service-accounts create` does.
 * - `POST /acs/api/v1/auth/login` `{"uid","token"}`, the token a login JWT
 *   (RS256, `{uid, exp}`) signed with the account's private key: answers
 *   `{"token"}`, valid for the cluster's token lifetime. A bad signature, an
 *   unknown uid or an expired login token: 401 `ERR_INVALID_CREDENTIALS`.
 */
export function createIamApi(deps: IamApiDeps): Koa {
  const now = deps.now ?? Date.now;
  const superuser = acsTokenCheck(deps.token);
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx) => {
    try {
      const user = /^\/acs\/api\/v1\/users\/([^/]+)$/.exec(ctx.path);
      if (user && ctx.method === 'PUT') {
        if (!superuser(ctx.get('authorization')))
          return (ctx.set('WWW-Authenticate', 'acsjwt'), refuse(ctx, 401, 'ERR_MISSING_AUTH_TOKEN', 'a superuser token is required'));
        const uid = decodeURIComponent(user[1]!);
        if (!UID.test(uid)) return refuse(ctx, 400, 'ERR_INVALID_DATA', 'invalid uid');
        const body = JSON.parse((await readBody(ctx.req, 64 * 1024)) || '{}') as { public_key?: unknown };
        if (typeof body.public_key !== 'string') return refuse(ctx, 400, 'ERR_INVALID_DATA', 'public_key is required');
        try {
          createPublicKey(body.public_key);
        } catch {
          return refuse(ctx, 400, 'ERR_INVALID_PUBLIC_KEY', 'public_key is not a PEM public key');
        }
        if (deps.accounts.has(uid)) return refuse(ctx, 409, 'ERR_USER_EXISTS', `user ${uid} already exists`);
        deps.accounts.set(uid, body.public_key);
        ctx.status = 201;
        return;
      }
      if (ctx.path !== '/acs/api/v1/auth/login' || ctx.method !== 'POST') return refuse(ctx, 404, 'ERR_NOT_FOUND', `${ctx.method} ${ctx.path} is not served`);
      let body: { uid?: unknown; token?: unknown };
      try {
        body = JSON.parse(await readBody(ctx.req, 64 * 1024)) as typeof body;
      } catch {
        return refuse(ctx, 400, 'ERR_MALFORMED_DATA', 'the body must be JSON: {"uid", "token"}');
      }
      const { uid, token } = body ?? {};
      if (typeof uid !== 'string' || typeof token !== 'string') return refuse(ctx, 400, 'ERR_INVALID_DATA', 'uid and token are required');
      const key = deps.accounts.get(uid);
      const [h, claims, sig] = token.split('.');
      let ok = false;
      if (key && h && claims && sig) {
        try {
          const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: unknown };
          const c = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as { uid?: unknown; exp?: unknown };
          ok =
            header.alg === 'RS256' &&
            c.uid === uid &&
            typeof c.exp === 'number' &&
            c.exp * 1000 > now() &&
            verify('RSA-SHA256', Buffer.from(`${h}.${claims}`), key, Buffer.from(sig, 'base64url'));
        } catch {
          ok = false;
        }
      }
      if (!ok) {
        deps.logger.warn({ component: 'iam', uid: uid.slice(0, 96) }, 'login refused');
        return refuse(ctx, 401, 'ERR_INVALID_CREDENTIALS', 'The login token is invalid, expired, or not signed by the account');
      }
      deps.logger.info({ component: 'iam', uid }, 'login');
      ctx.body = { token: deps.issuer.issue(uid) };
    } catch (err) {
      deps.logger.error({ component: 'iam', err: { message: (err as Error).message } }, 'iam api error');
      refuse(ctx, 400, 'ERR_INVALID_DATA', 'the request could not be read');
    }
  });
  return app;
}

/** {@link createIamApi} on loopback. */
export function startIamApi(deps: IamApiDeps & { port?: number }): Promise<Served> {
  return serve(createIamApi(deps).callback(), deps.port === undefined ? {} : { port: deps.port });
}
