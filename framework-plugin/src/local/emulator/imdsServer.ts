import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../log/logger.js';
import { serve } from '../../net/serve.js';
import type { CredentialSource } from './agentRoleCredentials.js';

/** User options of {@link startImdsServer}. */
export interface ImdsServerInit {
  /** Name of the instance-profile role, as listed under `iam/security-credentials/`. */
  roleName: string;
  /** Where the role's credentials come from (cached and refreshed by the source). */
  credentials: CredentialSource;
  host?: string;
  port?: number;
  instanceId?: string;
  now?: () => number;
  logger: Logger;
}

/** A running metadata endpoint. */
export interface ImdsServer {
  /** Base URL for `AWS_EC2_METADATA_SERVICE_ENDPOINT`, e.g. `http://127.0.0.1:41234`. */
  readonly endpoint: string;
  /** Number of credential documents served so far (lets tests see the SDK used it). */
  readonly credentialRequests: number;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const MAX_TTL_SECONDS = 21_600;
const CREDS_PREFIX = '/latest/meta-data/iam/security-credentials/';

/**
 * An EC2 instance metadata endpoint, IMDSv2 only (`HttpTokens: required`),
 * serving the agent's instance-profile credentials.
 *
 * Behaves as EC2 does where the AWS SDK depends on it: token via
 * `PUT /latest/api/token` with a TTL of 1–21600 s (else 400), a PUT carrying
 * `X-Forwarded-For` is refused, and reads without a valid token get 401.
 */
export async function startImdsServer(init: ImdsServerInit): Promise<ImdsServer> {
  const now = init.now ?? Date.now;
  const tokens = new Map<string, number>();
  const instanceId = init.instanceId ?? `i-${randomBytes(8).toString('hex').slice(0, 17)}`;
  let credentialRequests = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/latest/api/token') {
      if (req.method !== 'PUT') return send(res, 405, 'method not allowed');
      if (req.headers['x-forwarded-for']) return send(res, 403, 'forbidden');
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) return send(res, 400, 'bad request');
      for (const [t, exp] of tokens) if (exp <= now()) tokens.delete(t);
      const token = randomBytes(32).toString('base64url');
      tokens.set(token, now() + ttl * 1000);
      res.setHeader('x-aws-ec2-metadata-token-ttl-seconds', String(ttl));
      return send(res, 200, token);
    }
    if (req.method !== 'GET') return send(res, 405, 'method not allowed');
    const token = req.headers['x-aws-ec2-metadata-token'];
    const exp = typeof token === 'string' ? tokens.get(token) : undefined;
    if (exp === undefined || exp <= now()) return send(res, 401, 'unauthorized');

    if (path === CREDS_PREFIX || path === CREDS_PREFIX.slice(0, -1)) return send(res, 200, init.roleName);
    if (path.startsWith(CREDS_PREFIX)) {
      if (path.slice(CREDS_PREFIX.length) !== init.roleName) return send(res, 404, 'not found');
      try {
        const c = await init.credentials();
        credentialRequests++;
        res.setHeader('content-type', 'text/plain');
        return send(
          res,
          200,
          JSON.stringify({
            Code: 'Success',
            LastUpdated: new Date(now()).toISOString(),
            Type: 'AWS-HMAC',
            AccessKeyId: c.accessKeyId,
            SecretAccessKey: c.secretAccessKey,
            Token: c.sessionToken ?? '',
            Expiration: (c.expiration ?? new Date(now() + 3600_000)).toISOString(),
          }),
        );
      } catch (err) {
        init.logger.error({ component: 'imds', err: { message: (err as Error).message, name: (err as Error).name } }, 'agent credentials unavailable');
        return send(res, 500, 'internal error');
      }
    }
    if (path === '/latest/meta-data/instance-id') return send(res, 200, instanceId);
    return send(res, 404, 'not found');
  };

  const served = await serve(
    (req, res) => {
      handle(req, res).catch(() => send(res, 500, 'internal error'));
    },
    { ...(init.host ? { host: init.host } : {}), ...(init.port ? { port: init.port } : {}) },
  );
  const endpoint = served.url;
  init.logger.info({ component: 'imds', endpoint, role: init.roleName }, 'instance metadata endpoint ready');
  const stop = served.stop;
  return {
    endpoint,
    get credentialRequests() {
      return credentialRequests;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

function send(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) return;
  res.statusCode = status;
  if (!res.hasHeader('content-type')) res.setHeader('content-type', 'text/plain');
  res.end(body);
}
