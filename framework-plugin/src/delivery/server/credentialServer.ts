import { createHash, type X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { AgentError } from '../../core/agent/errors.js';
import type { CredentialCache } from '../../core/agent/credentialCache.js';
import { taskOnNode, type MasterTask } from '../../core/agent/taskOnNode.js';
import { isSipError, publicError, SipError } from '../../core/errors/SipError.js';
import { parseTaskId } from '../../core/marathon/taskId.js';
import { readBody } from '../../net/readBody.js';
import { roleOfApp, type RoleSource } from '../../core/agent/roleOfApp.js';
import { sharedRead, type SharedRead } from './sharedRead.js';
import { marathonView, type MarathonReader, type MarathonView } from './marathonView.js';
import { assumeRequestOf, ecsCredentialsBody } from '../../core/agent/ecsCredentials.js';
import { agentOfCertificate, issueAgentCertificate, renewalDue, type ServerCa } from './certificates.js';
import { agentOfInstance, type NodeLookup } from './nodeOfInstance.js';
import { createReplayGuard, verifyNodeProof, type NodeProof, type ProofPolicy } from './nodeProof.js';

/** The signed header binding a login's proof to the public key it asks a certificate for. */
export const KEY_HEADER = 'x-sip-public-key-sha256';
/** The key's digest as {@link KEY_HEADER} carries it. */
export const keyDigest = (publicKeyPem: string): string => createHash('sha256').update(publicKeyPem.trim()).digest('hex');

/** What `sip server` holds and asks. */
export interface CredentialServerDeps {
  readonly ca: ServerCa;
  /** Its own serving certificate and key (from the CA). */
  readonly tls: { cert: string; key: string };
  readonly trustDomain: string;
  /** Life of an agent's client certificate, seconds. */
  readonly certLifetimeSeconds: number;
  readonly proof: ProofPolicy;
  readonly nodes: NodeLookup;
  /** The Mesos master's tasks (`GET_TASKS`): one read shared by the requests of a burst (see `masterFloorMs`). */
  masterTasks(): Promise<MasterTask[]>;
  /** How long one `GET_TASKS` answer serves other requests, ms (default 500); a refusal is checked against a fresh one. */
  readonly masterFloorMs?: number;
  readonly marathon: MarathonReader;
  /** Where apps' roles come from (their AWS config secrets or a policy): the path rule decides, as sip agent's. */
  readonly roles: RoleSource;
  /** Logins one address may attempt per minute with one access key (each well-formed proof costs a call to STS). Default 12. */
  readonly loginsPerMinute?: number;
  /** Credentials assumed with the server's own identity, cached (per role, external id, session). */
  readonly cache: CredentialCache;
  readonly logger: Logger;
}

const send = (res: ServerResponse, status: number, body: unknown): void => {
  const b = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': b.length, 'cache-control': 'no-store' });
  res.end(b);
};
/** An error as the ECS protocol's `{Code, Message}` with the catalogue's status; what is not meant to be shown is not (see its log). */
const fail = (res: ServerResponse, err: unknown): void => {
  const { status, code, message } = publicError(err);
  send(res, status, { Code: code ?? 'SIP_SERVER_FAILED', Message: code ? message : 'sip server failed on this request; see its log' });
};

/**
 * Login throttling. Each well-formed proof costs a call to STS, and a tenant
 * on a node shares the node's address, so a limit per address alone would let
 * it lock its own node's agent out of renewals. Instead, per address *and*
 * the proof's access key (the agent's instance-profile key is not the
 * tenant's): at most `perMinute` in any minute; and when more than
 * `failuresPerMinute` proofs failed in the last minute (a flood of made-up
 * keys), only keys that proved a node before are heard.
 */
function loginLimiter(perMinute: number, failuresPerMinute = 60) {
  const seen = new Map<string, number[]>();
  const proven = new Set<string>();
  let failures: number[] = [];
  const bounded = <T>(m: Map<string, T> | Set<string>): void => {
    if (m.size > 10_000) m.delete(m.keys().next().value!);
  };
  return {
    allow(address: string, accessKey: string, now: number): boolean {
      failures = failures.filter((t) => t > now - 60_000);
      if (failures.length >= failuresPerMinute && !proven.has(accessKey)) return false;
      const key = `${address} ${accessKey}`;
      const recent = (seen.get(key) ?? []).filter((t) => t > now - 60_000);
      if (recent.length >= perMinute) return false;
      recent.push(now);
      seen.delete(key);
      seen.set(key, recent);
      bounded(seen);
      return true;
    },
    failed: (now: number): void => void failures.push(now),
    proved(accessKey: string): void {
      proven.add(accessKey);
      bounded(proven);
    },
  };
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  try {
    const v = JSON.parse(await readBody(req, 64 * 1024)) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // below
  }
  throw new SipError('SIP_USAGE', 'the body must be a JSON object', { expose: true });
}

/** A route's handler. */
type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** `POST /v1/login`: a node proof → a client certificate naming the node's agent (see {@link createCredentialServer}). */
function loginHandler(deps: CredentialServerDeps, replay: ReturnType<typeof createReplayGuard>, logins: ReturnType<typeof loginLimiter>): Route {
  return async (req, res) => {
    const body = await jsonBody(req);
    const proof = body.proof as NodeProof | undefined;
    const publicKey = typeof body.publicKey === 'string' ? body.publicKey : '';
    if (!proof || typeof proof !== 'object' || typeof proof.body !== 'string' || !proof.headers || typeof proof.headers !== 'object' || !publicKey) {
      throw new SipError('SIP_SERVER_PROOF_INVALID', 'a login is {proof, publicKey}', { expose: true });
    }
    const accessKey = /Credential=([A-Z0-9]{16,128})\//.exec(
      String(Object.entries(proof.headers).find(([k]) => k.toLowerCase() === 'authorization')?.[1] ?? ''),
    )?.[1];
    if (!accessKey) throw new SipError('SIP_SERVER_PROOF_INVALID', 'the proof is not signed with AWS Signature Version 4', { expose: true });
    // An agent logs in once per certificate (renewed two thirds in); a stranger hammering STS through us is not an agent.
    if (!logins.allow(req.socket.remoteAddress ?? '', accessKey, Date.now()))
      throw new SipError('SIP_SERVER_LOGIN_THROTTLED', 'too many logins with this key from this address; an agent logs in once per certificate', {
        expose: true,
      });
    const node = await verifyNodeProof(proof, deps.proof, replay, { [KEY_HEADER]: keyDigest(publicKey) }).catch((err: unknown) => {
      logins.failed(Date.now());
      throw err;
    });
    logins.proved(accessKey);
    const agent = await agentOfInstance(node.instanceId, deps.nodes);
    const certificate = await issueAgentCertificate(deps.ca, {
      agentId: agent.agentId,
      instanceId: node.instanceId,
      publicKeyPem: publicKey,
      trustDomain: deps.trustDomain,
      lifetimeSeconds: deps.certLifetimeSeconds,
    });
    deps.logger.info({ audit: { decision: 'login', agentId: agent.agentId, instanceId: node.instanceId } }, 'agent certified');
    send(res, 200, { certificate, ca: deps.ca.certPem, renewAt: renewalDue(certificate).toISOString() });
  };
}

/** `POST /v1/credentials` over mutual TLS: a task's credentials where the masters place it on the asking agent. */
function credentialsHandler(deps: CredentialServerDeps, master: SharedRead<MasterTask[]>, marathon: MarathonView): Route {
  return async (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer: X509Certificate | undefined = socket.authorized ? socket.getPeerX509Certificate() : undefined;
    if (!peer)
      throw new SipError('SIP_SERVER_CERT_INVALID', 'credentials are asked for with an agent certificate of this server (mutual TLS); log in first', {
        expose: true,
      });
    const agent = agentOfCertificate(peer, deps.ca.certPem, deps.trustDomain);
    const body = await jsonBody(req);
    const taskId = typeof body.taskId === 'string' ? body.taskId : '';
    const claimed = parseTaskId(taskId);
    if (!claimed) throw new AgentError('SIP_AGENT_UNKNOWN_CALLER', 'the request names no Marathon task id');
    const asked = Date.now();
    const [{ value: masterTasks }, raw] = await Promise.all([master.get(), marathon.appOf(claimed.appId)]);
    let marathonFrameworkId = await marathon.framework();
    const claimedFramework = typeof body.frameworkId === 'string' ? body.frameworkId : undefined;
    // A framework id other than the one held: perhaps a new Marathon (read again, at most once a minute).
    if (
      (claimedFramework !== undefined && claimedFramework !== marathonFrameworkId) ||
      masterTasks.some((x) => x.taskId === taskId && x.frameworkId !== marathonFrameworkId)
    )
      marathonFrameworkId = await marathon.framework(true);
    const t = ((raw?.tasks ?? []) as Array<{ id: string; state: string; slaveId?: string }>).find((x) => x.id === taskId);
    const marathonTask = raw && t ? { taskId, appId: String(raw.id), agentId: t.slaveId ?? '', state: t.state } : undefined;
    // The container the agent found the caller in belongs to another framework: not Marathon's task of that name.
    if (claimedFramework !== undefined && claimedFramework !== marathonFrameworkId) {
      const reason = `the caller's container belongs to framework ${claimedFramework.slice(0, 80)}, not Marathon's`;
      deps.logger.warn({ audit: { decision: 'deny', agentId: agent.agentId, taskId, code: 'SIP_SERVER_NOT_MARATHON', reason } }, 'credentials denied');
      throw new SipError('SIP_SERVER_NOT_MARATHON', reason, { expose: true });
    }
    let verdict = taskOnNode(agent.agentId, taskId, { masterTasks, marathonFrameworkId, marathonTask });
    // A task launched a moment ago may be missing from a shared answer: a refusal stands only on a fresh one.
    if (!verdict.ok) verdict = taskOnNode(agent.agentId, taskId, { masterTasks: (await master.get(asked)).value, marathonFrameworkId, marathonTask });
    if (!verdict.ok || !raw) {
      const code = verdict.ok ? 'SIP_SERVER_NOT_ON_NODE' : verdict.code;
      const reason = verdict.ok ? `Marathon does not know task ${taskId}` : verdict.reason;
      deps.logger.warn({ audit: { decision: 'deny', agentId: agent.agentId, taskId, code, reason } }, 'credentials denied');
      throw new SipError(code, reason, { expose: true });
    }
    // The app's role from the record just read (the path rule or the policy); never an app id from the agent.
    const role = await roleOfApp(raw, taskId, deps.roles);
    const request = assumeRequestOf(role.app.id, role.role, taskId);
    const { credentials: c } = await deps.cache.get(request);
    deps.logger.info(
      { audit: { decision: 'issue', agentId: agent.agentId, taskId, appId: role.app.id, roleArn: request.roleArn, expires: c.expiration.toISOString() } },
      'credentials issued',
    );
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(ecsCredentialsBody(c, request.roleArn));
  };
}

/**
 * `sip server`'s API, over TLS with its CA's serving certificate:
 * - `POST /v1/login` `{proof, publicKey}`: a node proof (a signed
 *   `sts:GetCallerIdentity`, its signature binding the key's digest in
 *   `x-sip-public-key-sha256`) → STS names the instance, EC2 its address,
 *   the master the agent there → a client certificate for the key, naming
 *   that agent, for `certLifetimeSeconds` (`{certificate, ca, renewAt}`).
 * - `POST /v1/credentials` `{taskId}` over mutual TLS with that certificate:
 *   granted only if the master lists the task running on the certificate's
 *   agent under Marathon's framework and Marathon agrees (task → app), then
 *   the app's role by the path rule or policy, assumed and cached by the
 *   server; the answer is the ECS credentials document. The agent's word
 *   on the task's app is never asked for.
 * Errors are `{Code, Message}` with the catalogue's status.
 */
export function createCredentialServer(deps: CredentialServerDeps): Server {
  const replay = createReplayGuard(deps.proof.maxSkewMs ?? 5 * 60_000);
  const login = loginHandler(deps, replay, loginLimiter(deps.loginsPerMinute ?? 12));
  const credentials = credentialsHandler(
    deps,
    sharedRead(() => deps.masterTasks(), deps.masterFloorMs ?? 500),
    marathonView(deps.marathon),
  );

  return createServer({ cert: deps.tls.cert, key: deps.tls.key, ca: deps.ca.certPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const route = req.method === 'POST' && req.url === '/v1/login' ? login : req.method === 'POST' && req.url === '/v1/credentials' ? credentials : undefined;
    if (!route) return send(res, 404, { Code: 'SIP_URI_NOT_SUPPORTED', Message: 'POST /v1/login or /v1/credentials' });
    route(req, res).catch((err: unknown) => {
      if (!isSipError(err)) deps.logger.error({ err: { message: (err as Error).message } }, 'sip server request failed');
      fail(res, err);
    });
  });
}
