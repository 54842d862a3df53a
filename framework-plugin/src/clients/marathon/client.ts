import { sendRequest } from '../../net/httpRequest.js';
import { tokenAuth, type UpstreamAuth } from '../../net/upstreamAuth.js';
import { codeForStatus } from '../../core/errors/catalogue.js';
import { SipError } from '../../core/errors/SipError.js';
import type { MarathonErrorBody } from '../../core/marathon/validationError.js';

/** User options of {@link createMarathonClient}. */
export interface MarathonClientInit {
  /** Marathon base URL (the local cluster's, or `https://<dcos>/service/marathon`). */
  url: string;
  /** DC/OS ACS token, sent as `Authorization: token=<token>`. */
  token?: string;
  /** Any other way in (HTTP Basic for `--http_credentials`, a renewing service-account login); wins over `token`. */
  auth?: UpstreamAuth;
  timeoutMs?: number;
}

/** A Marathon API error: the HTTP status Marathon answered and its body; the code comes from the catalogue. */
export class MarathonApiError extends SipError {
  /** What Marathon answered (the catalogue's `status` is what this error stands for). */
  readonly httpStatus: number;
  readonly body: MarathonErrorBody | undefined;
  constructor(status: number, body: MarathonErrorBody | undefined, what: string) {
    const code = codeForStatus(status, ['SIP_MARATHON_INVALID', 'SIP_MARATHON_CONFLICT', 'SIP_MARATHON_NOT_FOUND'], 'SIP_MARATHON_FAILED');
    const details = (body?.details ?? []).map((d) => `\n  ${d.path}: ${d.errors.join('; ')}`).join('');
    super(code, `${what}: ${body?.message ?? `HTTP ${status}`}${details}`, { expose: true });
    this.name = 'MarathonApiError';
    this.httpStatus = status;
    this.body = body;
  }
}

/** The calls `sip marathon` makes. Bodies are Marathon's JSON. */
export interface MarathonClient {
  readonly url: string;
  readonly token: string | undefined;
  addApp(def: unknown): Promise<{ id: string; deployments: Array<{ id: string }> } & Record<string, unknown>>;
  /** PUT: a partial update (Marathon's default `partialUpdate=true`): fields given replace the app's; `force` overrides a running deployment. */
  putApp(id: string, def: unknown, opts?: { force?: boolean }): Promise<{ deploymentId: string; version: string }>;
  /** Kills an app's tasks (all, or those on `host`); with `scale`, `instances` drops by as many. */
  killAppTasks(id: string, opts?: { scale?: boolean; host?: string }): Promise<{ tasks?: Array<Record<string, any>>; deploymentId?: string; version?: string }>;
  /** Kills tasks by id (`POST /v2/tasks/delete`), with `scale` and `wipe` as Marathon takes them. */
  killTasks(ids: readonly string[], opts?: { scale?: boolean; wipe?: boolean }): Promise<{ tasks?: Array<Record<string, any>>; deploymentId?: string; version?: string }>;
  /** An app's versions, newest first. */
  versions(id: string): Promise<string[]>;
  deployments(): Promise<Array<Record<string, any>>>;
  /** Rolls a deployment back (a new deployment), or with `force` stops it where it is. */
  cancelDeployment(id: string, force: boolean): Promise<{ deploymentId?: string; version?: string } | undefined>;
  removeApp(id: string): Promise<{ deploymentId: string; version: string }>;
  restartApp(id: string): Promise<{ deploymentId: string; version: string }>;
  getApp(id: string): Promise<Record<string, any>>;
  listApps(): Promise<Array<Record<string, any>>>;
  tasks(id?: string): Promise<Array<Record<string, any>>>;
  /** `GET /v2/info` (`frameworkId`, `leader`, `marathon_config`, …). */
  info(): Promise<Record<string, any>>;
  ping(): Promise<boolean>;
}

const appPath = (id: string): string => `/v2/apps/${id.replace(/^\/+/, '')}`;

/** A client for Marathon's REST API (local cluster or DC/OS), on Node's own HTTP. */
export function createMarathonClient(init: MarathonClientInit): MarathonClient {
  const base = init.url.replace(/\/+$/, '');
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  const auth = init.auth ?? (init.token ? tokenAuth(init.token) : undefined);
  const timeoutMs = init.timeoutMs ?? 15_000;
  const call = async <T>(method: string, path: string, what: string, data?: unknown): Promise<T> => {
    let res;
    try {
      const body = typeof data === 'string' ? data : data === undefined ? undefined : JSON.stringify(data);
      res = await sendRequest(`${base}${path}`, { method, headers, timeoutMs, ...(auth ? { auth } : {}), ...(body !== undefined ? { body } : {}) });
    } catch (err) {
      if (err instanceof SipError) throw err; // refused before sending (an untrusted upstream, a failed login)
      throw new SipError('SIP_MARATHON_UNREACHABLE', `Marathon at ${base} is unreachable (${(err as { code?: string }).code ?? (err as Error).message}); is the cluster up? (sip cluster up)`, {
        expose: true,
      });
    }
    if (res.status >= 300) throw new MarathonApiError(res.status, typeof res.json === 'object' && res.json !== null ? (res.json as MarathonErrorBody) : undefined, what);
    return res.json as T;
  };
  return {
    url: base,
    token: init.token,
    addApp: (def) => call('POST', '/v2/apps', 'adding the app', def),
    putApp: (id, def, opts) => call('PUT', `${appPath(id)}${opts?.force ? '?force=true' : ''}`, `updating ${id}`, def),
    killAppTasks: (id, opts) => {
      const q = new URLSearchParams({ ...(opts?.scale ? { scale: 'true' } : {}), ...(opts?.host ? { host: opts.host } : {}) }).toString();
      return call('DELETE', `${appPath(id)}/tasks${q ? `?${q}` : ''}`, `killing the tasks of ${id}`);
    },
    killTasks: (ids, opts) => {
      const q = new URLSearchParams({ ...(opts?.scale ? { scale: 'true' } : {}), ...(opts?.wipe ? { wipe: 'true' } : {}) }).toString();
      return call('POST', `/v2/tasks/delete${q ? `?${q}` : ''}`, 'killing tasks', { ids });
    },
    versions: async (id) => (await call<{ versions: string[] }>('GET', `${appPath(id)}/versions`, `reading the versions of ${id}`)).versions,
    deployments: () => call('GET', '/v2/deployments', 'listing deployments'),
    cancelDeployment: async (id, force) => (await call<{ deploymentId?: string; version?: string } | null>('DELETE', `/v2/deployments/${encodeURIComponent(id)}${force ? '?force=true' : ''}`, `canceling deployment ${id}`)) ?? undefined,
    removeApp: (id) => call('DELETE', appPath(id), `removing ${id}`),
    restartApp: (id) => call('POST', `${appPath(id)}/restart`, `restarting ${id}`),
    getApp: async (id) => (await call<{ app: Record<string, any> }>('GET', appPath(id), `reading ${id}`)).app,
    listApps: async () => (await call<{ apps: Array<Record<string, any>> }>('GET', '/v2/apps?embed=apps.tasks', 'listing apps')).apps,
    info: () => call('GET', '/v2/info', 'reading Marathon\'s info'),
    tasks: async (id) => (await call<{ tasks: Array<Record<string, any>> }>('GET', id ? `${appPath(id)}/tasks` : '/v2/tasks', 'listing tasks')).tasks,
    ping: async () => {
      try {
        return (await sendRequest(`${base}/ping`, { headers, timeoutMs, ...(auth ? { auth } : {}) })).status === 200;
      } catch {
        return false;
      }
    },
  };
}
