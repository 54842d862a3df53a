import { sendRequest, type HttpAnswer } from '../../net/httpRequest.js';
import { tokenAuth, type UpstreamAuth } from '../../net/upstreamAuth.js';
import { SipError } from '../../core/errors/SipError.js';

/**
 * One container as the Mesos agent operator API lists it (`GET_CONTAINERS`,
 * `agent.proto` `Response.GetContainers.Container`), the fields the agent
 * uses. An executor's container carries its framework and executor (for a
 * command task the executor id is the task id); a nested container (a pod's
 * task, `show_nested`) carries only its id and its parent's.
 */
export interface MesosContainer {
  readonly containerId: string;
  /** The parent container (nested containers only). */
  readonly parentId?: string;
  readonly executorId?: string;
  readonly frameworkId?: string;
  readonly executorPid?: number;
}

/** User options of {@link createMesosAgentClient}. */
export interface MesosAgentClientInit {
  /** The agent's base URL (`http://<agent ip>:5051`, or the local cluster's). */
  url: string;
  /** ACS token for DC/OS (`Authorization: token=…`). */
  token?: string;
  /** Any other way in (HTTP Basic for `--authenticate_http_readwrite`, a renewing login); wins over `token`. */
  auth?: UpstreamAuth;
  timeoutMs?: number;
}

/** The Mesos agent operator API (v1, JSON) calls the credential agent makes. */
export interface MesosAgentClient {
  /** `GET_CONTAINERS`; with `showNested`, nested containers too. */
  getContainers(opts?: { showNested?: boolean }): Promise<MesosContainer[]>;
  /** `GET_AGENT`: this agent's id (`agent_info.id`), as Marathon's tasks name it (`slaveId`). */
  getAgentId(): Promise<string>;
  /**
   * Each live executor's sandbox by container id: `GET /state`, whose
   * executors carry `container` and `directory` (apache/mesos
   * src/slave/http.cpp, `ExecutorWriter`); the v1 API does not say where a
   * sandbox is.
   */
  getSandboxes(): Promise<Map<string, string>>;
}

type Id = { value?: unknown } | undefined;
const idOf = (v: Id): string | undefined => (typeof v?.value === 'string' && v.value ? v.value : undefined);

/**
 * A client of the Mesos agent operator API: `POST /api/v1` with a JSON call.
 * Mesos answers errors in plain text (`Failed to parse …`, an empty 401 with
 * a `WWW-Authenticate` challenge); they are reported with the call, the
 * status and the text, never with the credential sent.
 * @throws SipError `SIP_AGENT_UPSTREAM_FAILED` when the agent cannot be asked or refuses.
 */
export function createMesosAgentClient(init: MesosAgentClientInit): MesosAgentClient {
  const url = `${init.url.replace(/\/+$/, '')}/api/v1`;
  const auth = init.auth ?? (init.token ? tokenAuth(init.token) : undefined);
  const send = async (
    target: string,
    type: string,
    options: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
  ): Promise<HttpAnswer> => {
    let res: HttpAnswer;
    try {
      res = await sendRequest(target, { ...options, timeoutMs: init.timeoutMs ?? 5000, ...(auth ? { auth } : {}) });
    } catch (err) {
      if (err instanceof SipError) throw err; // refused before sending (an untrusted upstream, a failed login)
      throw new SipError(
        'SIP_AGENT_UPSTREAM_FAILED',
        `the Mesos agent at ${init.url} cannot be reached (${(err as { code?: string }).code ?? (err as Error).message})`,
        { expose: true },
      );
    }
    if (res.status !== 200) {
      const challenge =
        res.status === 401 ? ` (${auth?.describe ?? 'no credentials'} refused; challenge: ${String(res.headers['www-authenticate'] ?? 'none')})` : '';
      const text = res.text.trim().replace(/\s+/g, ' ').slice(0, 200);
      throw new SipError(
        'SIP_AGENT_UPSTREAM_FAILED',
        `the Mesos agent at ${init.url} answered HTTP ${res.status} to ${type}${challenge}${text ? `: ${text}` : ''}`,
        { expose: true },
      );
    }
    return res;
  };
  const call = async (type: string, body: Record<string, unknown>): Promise<Record<string, any>> => {
    const res = await send(url, type, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ type, ...body }),
    });
    const json = res.json as Record<string, any> | undefined;
    if (json?.type !== type) throw new SipError('SIP_AGENT_UPSTREAM_FAILED', `the Mesos agent at ${init.url} did not answer ${type}`, { expose: true });
    return json;
  };
  return {
    async getContainers(opts = {}) {
      const json = await call('GET_CONTAINERS', { get_containers: { show_nested: opts.showNested === true, show_standalone: false } });
      const list = (json.get_containers?.containers ?? []) as Array<Record<string, any>>;
      const out: MesosContainer[] = [];
      for (const c of Array.isArray(list) ? list : []) {
        const containerId = idOf(c.container_id);
        if (!containerId) continue;
        const parentId = idOf(c.container_id?.parent);
        const executorId = idOf(c.executor_id);
        const frameworkId = idOf(c.framework_id);
        const pid = c.container_status?.executor_pid;
        out.push({
          containerId,
          ...(parentId ? { parentId } : {}),
          ...(executorId ? { executorId } : {}),
          ...(frameworkId ? { frameworkId } : {}),
          ...(Number.isInteger(pid) && pid > 0 ? { executorPid: pid as number } : {}),
        });
      }
      return out;
    },
    async getAgentId() {
      const id = idOf((await call('GET_AGENT', {})).get_agent?.agent_info?.id);
      if (!id) throw new SipError('SIP_AGENT_UPSTREAM_FAILED', `the Mesos agent at ${init.url} answered GET_AGENT without an agent id`, { expose: true });
      return id;
    },
    async getSandboxes() {
      const res = await send(`${init.url.replace(/\/+$/, '')}/state`, 'GET /state', { method: 'GET', headers: { accept: 'application/json' } });
      const frameworks = (res.json as { frameworks?: unknown } | undefined)?.frameworks;
      const out = new Map<string, string>();
      for (const f of Array.isArray(frameworks) ? (frameworks as Array<Record<string, any>>) : []) {
        for (const e of Array.isArray(f.executors) ? (f.executors as Array<Record<string, any>>) : []) {
          if (typeof e.container === 'string' && typeof e.directory === 'string' && e.directory.startsWith('/')) out.set(e.container, e.directory);
        }
      }
      return out;
    },
  };
}
