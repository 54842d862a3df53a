import { sendRequest } from '../../net/httpRequest.js';
import { tokenAuth, type UpstreamAuth } from '../../net/upstreamAuth.js';
import { SipError } from '../../core/errors/SipError.js';
import type { MasterTask } from '../../core/agent/taskOnNode.js';
import { parseMasterAgents, parseMasterTasks, type MasterAgentInfo } from './masterTasks.js';

/** User options of {@link createMesosMasterClient}. */
export interface MesosMasterClientInit {
  /** The leading master (`https://leader.mesos:5050`, DC/OS's `https://<dcos>/mesos`, or the local cluster's). */
  url: string;
  token?: string;
  auth?: UpstreamAuth;
  timeoutMs?: number;
}

/** The Mesos master operator API (v1, JSON) calls sip server makes. */
export interface MesosMasterClient {
  getTasks(): Promise<MasterTask[]>;
  getAgents(): Promise<MasterAgentInfo[]>;
}

/**
 * A client of the Mesos master operator API (`POST /api/v1`), `GET_TASKS`
 * and `GET_AGENTS`. Errors name the call and status, never the credential.
 * @throws SipError `SIP_SERVER_UPSTREAM_FAILED`
 */
export function createMesosMasterClient(init: MesosMasterClientInit): MesosMasterClient {
  const url = `${init.url.replace(/\/+$/, '')}/api/v1`;
  const auth = init.auth ?? (init.token ? tokenAuth(init.token) : undefined);
  const call = async (type: string): Promise<unknown> => {
    let res;
    try {
      res = await sendRequest(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ type }),
        timeoutMs: init.timeoutMs ?? 5000,
        ...(auth ? { auth } : {}),
      });
    } catch (err) {
      if (err instanceof SipError) throw err;
      throw new SipError(
        'SIP_SERVER_UPSTREAM_FAILED',
        `the Mesos master at ${init.url} cannot be reached (${(err as { code?: string }).code ?? (err as Error).message})`,
        {
          expose: true,
        },
      );
    }
    if (res.status !== 200 || (res.json as { type?: unknown } | undefined)?.type !== type) {
      throw new SipError('SIP_SERVER_UPSTREAM_FAILED', `the Mesos master at ${init.url} answered HTTP ${res.status} to ${type}`, { expose: true });
    }
    return res.json;
  };
  return {
    getTasks: async () => parseMasterTasks(await call('GET_TASKS')),
    getAgents: async () => parseMasterAgents(await call('GET_AGENTS')),
  };
}
