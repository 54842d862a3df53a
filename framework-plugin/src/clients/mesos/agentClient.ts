import { sendRequest } from '../../net/httpRequest.js';
import { SipError } from '../../core/errors/SipError.js';

/** One container as the Mesos agent operator API lists it (`GET_CONTAINERS`), the fields the agent uses. */
export interface MesosContainer {
  readonly containerId: string;
  readonly executorId: string;
  readonly frameworkId: string;
}

/** User options of {@link createMesosAgentClient}. */
export interface MesosAgentClientInit {
  /** The agent's base URL (`http://<agent>:5051`, or the local cluster's). */
  url: string;
  /** ACS token for DC/OS (`Authorization: token=…`). */
  token?: string;
  timeoutMs?: number;
}

/** The Mesos agent operator API (v1, JSON) calls the credential agent makes. */
export interface MesosAgentClient {
  getContainers(): Promise<MesosContainer[]>;
}

/**
 * A client of the Mesos agent operator API: `POST /api/v1` with
 * `{"type": "GET_CONTAINERS"}`. For Marathon's command tasks the executor id
 * is the task id.
 * @throws SipError `SIP_AGENT_CONFIG_INVALID` when the agent cannot be asked.
 */
export function createMesosAgentClient(init: MesosAgentClientInit): MesosAgentClient {
  const url = `${init.url.replace(/\/+$/, '')}/api/v1`;
  const headers = { 'content-type': 'application/json', accept: 'application/json', ...(init.token ? { authorization: `token=${init.token}` } : {}) };
  return {
    async getContainers() {
      let res;
      try {
        res = await sendRequest(url, { method: 'POST', headers, body: JSON.stringify({ type: 'GET_CONTAINERS' }), timeoutMs: init.timeoutMs ?? 5000 });
      } catch (err) {
        throw new SipError('SIP_AGENT_CONFIG_INVALID', `the Mesos agent at ${init.url} cannot be reached (${(err as { code?: string }).code ?? (err as Error).message})`, { expose: true });
      }
      if (res.status !== 200) throw new SipError('SIP_AGENT_CONFIG_INVALID', `the Mesos agent at ${init.url} answered HTTP ${res.status} to GET_CONTAINERS`, { expose: true });
      const list = ((res.json as { get_containers?: { containers?: unknown[] } })?.get_containers?.containers ?? []) as Array<Record<string, { value?: string } | undefined>>;
      return list
        .map((c) => ({ containerId: c.container_id?.value ?? '', executorId: c.executor_id?.value ?? '', frameworkId: c.framework_id?.value ?? '' }))
        .filter((c) => c.containerId && c.executorId);
    },
  };
}
