import { sendRequest } from '../../net/httpRequest.js';
import { codeForStatus } from '../../core/errors/catalogue.js';
import { SipError } from '../../core/errors/SipError.js';
import type { PoolProblem, PoolStatus, V2Pool } from './types.js';

/** User options of {@link createEdgeLbClient}. */
export interface EdgeLbClientInit {
  /** Edge-LB's base URL: `https://<dcos>/service/edgelb`, or the local cluster's `edgelbApiUrl`. */
  url: string;
  /** DC/OS ACS token, sent as `Authorization: token=<token>`. */
  token: string;
  timeoutMs?: number;
}

/** An Edge-LB API error: HTTP status, Edge-LB's message and, for validation, the problems by path. */
export class EdgeLbApiError extends SipError {
  /** What Edge-LB answered. */
  readonly httpStatus: number;
  readonly problems: readonly PoolProblem[];
  constructor(status: number, body: { message?: string; problems?: PoolProblem[] } | undefined, what: string) {
    const code = codeForStatus(
      status,
      ['SIP_EDGELB_POOL_INVALID', 'SIP_EDGELB_POOL_EXISTS', 'SIP_EDGELB_POOL_NOT_FOUND', 'SIP_UNAUTHORIZED'],
      'SIP_EDGELB_FAILED',
    );
    const problems = body?.problems ?? [];
    const message = problems.length > 0 ? `invalid pool${problems.map((p) => `\n  ${p.path}: ${p.message}`).join('')}` : (body?.message ?? `HTTP ${status}`);
    super(code, `${what}: ${message}`, { expose: true });
    this.name = 'EdgeLbApiError';
    this.httpStatus = status;
    this.problems = problems;
  }
}

/** The Edge-LB V2 Pool API calls `sip edgelb` makes. */
export interface EdgeLbClient {
  ping(): Promise<string>;
  listPools(): Promise<V2Pool[]>;
  getPool(name: string): Promise<V2Pool>;
  createPool(pool: unknown): Promise<V2Pool>;
  updatePool(name: string, pool: unknown): Promise<V2Pool>;
  deletePool(name: string): Promise<void>;
  lbConfig(name: string): Promise<string>;
  /** Local extension (`/v2/pools/{name}/status`): frontends and servers as HAProxy sees them. */
  poolStatus(name: string): Promise<PoolStatus>;
}

/** An {@link EdgeLbClient} on Node's own HTTP; non-2xx answers become {@link EdgeLbApiError}. */
export function createEdgeLbClient(init: EdgeLbClientInit): EdgeLbClient {
  const base = init.url.replace(/\/+$/, '');
  const timeoutMs = init.timeoutMs ?? 15_000;
  const call = async <T>(method: 'get' | 'post' | 'put' | 'delete', url: string, what: string, data?: unknown, text = false): Promise<T> => {
    let res;
    try {
      const body = data === undefined ? undefined : JSON.stringify(data);
      const headers = {
        authorization: `token=${init.token}`,
        accept: text ? 'text/plain' : 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      };
      res = await sendRequest(`${base}${url}`, { method: method.toUpperCase(), headers, timeoutMs, ...(body !== undefined ? { body } : {}) });
    } catch (err) {
      throw new SipError(
        'SIP_EDGELB_UNREACHABLE',
        `${what}: Edge-LB at ${init.url} is unreachable (${(err as { code?: string }).code ?? (err as Error).message})`,
        { expose: true },
      );
    }
    if (res.status >= 300)
      throw new EdgeLbApiError(
        res.status,
        typeof res.json === 'object' && res.json !== null ? (res.json as { message?: string; problems?: PoolProblem[] }) : undefined,
        what,
      );
    return (text ? res.text : res.json) as T;
  };
  const pool = (name: string): string => `/v2/pools/${encodeURIComponent(name)}`;
  return {
    ping: () => call('get', '/ping', 'ping', undefined, true),
    listPools: () => call('get', '/v2/pools', 'list pools'),
    getPool: (name) => call('get', pool(name), `show pool ${name}`),
    createPool: (p) => call('post', '/v2/pools', 'create pool', p),
    updatePool: (name, p) => call('put', pool(name), `update pool ${name}`, p),
    deletePool: (name) => call('delete', pool(name), `delete pool ${name}`),
    lbConfig: (name) => call('get', `${pool(name)}/lbconfig`, `lb-config of pool ${name}`, undefined, true),
    poolStatus: (name) => call('get', `${pool(name)}/status`, `status of pool ${name}`),
  };
}
