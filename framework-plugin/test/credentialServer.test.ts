import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CredentialCache } from '../src/core/agent/credentialCache.js';
import type { MasterTask } from '../src/core/agent/taskOnNode.js';
import { SipError } from '../src/core/errors/SipError.js';
import { createServerCa, issueAgentCertificate, issueServerCertificate, newKeyPair } from '../src/delivery/server/certificates.js';
import { createCredentialServer } from '../src/delivery/server/credentialServer.js';

// sip server's API with its upstreams faked (the real ones: test/integration/agents.test.ts):
// a burst of credential requests shares one GET_TASKS; a refusal stands only on a
// fresh view; a master that cannot be reached refuses the grant and assumes
// nothing; a stranger's logins are throttled per address and key before any reaches STS.

const FRAMEWORK = 'fw-0001';
const A = 'a55441e4-5d1b-4209-b90c-e4cebada14d6-S0';
const B = 'a55441e4-5d1b-4209-b90c-e4cebada14d6-S1';
const onA = 'team_web.instance-3a6f2d4e-0000-4000-8000-000000000001._app.1';
const onB = 'team_web.instance-3a6f2d4e-0000-4000-8000-000000000002._app.1';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

async function setup(master: () => Promise<MasterTask[]>) {
  const ca = await createServerCa();
  const serving = await newKeyPair();
  const agentKey = await newKeyPair();
  const assumed: string[] = [];
  const server = createCredentialServer({
    ca,
    tls: {
      cert: await issueServerCertificate(ca, { hosts: ['127.0.0.1'], publicKeyPem: serving.publicKeyPem, lifetimeSeconds: 600 }),
      key: serving.privateKeyPem,
    },
    trustDomain: 'sip',
    certLifetimeSeconds: 600,
    proof: { stsEndpoint: 'http://127.0.0.1:9', audience: 'sip-server', agentRoles: ['agent'], account: '123456789012' },
    nodes: { privateIpOf: async () => '127.0.0.1', agents: async () => [] },
    masterTasks: master,
    marathon: {
      info: async () => ({ frameworkId: FRAMEWORK }),
      getApp: async () => ({
        id: '/team/web',
        cmd: 'true',
        tasks: [
          { id: onA, state: 'TASK_RUNNING', slaveId: A },
          { id: onB, state: 'TASK_RUNNING', slaveId: B },
        ],
      }),
    },
    roles: { kind: 'policy', policy: { rules: [{ group: '/team', roleArn: 'arn:aws:iam::123456789012:role/sip-apps/web', externalId: 'ext-id-1' }] } },
    loginsPerMinute: 3,
    cache: {
      get: async (r: { roleArn: string }) => {
        assumed.push(r.roleArn);
        return { credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: SECRET, sessionToken: 'tok', expiration: new Date(Date.now() + 3_600_000) } };
      },
    } as unknown as CredentialCache,
    logger: pino({ level: 'silent' }),
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const cert = await issueAgentCertificate(ca, {
    agentId: A,
    instanceId: 'i-0123456789abcdef0',
    publicKeyPem: agentKey.publicKeyPem,
    trustDomain: 'sip',
    lifetimeSeconds: 600,
  });
  const post = (path: string, body: unknown, asAgent = true): Promise<{ status: number; body: any; text: string }> =>
    new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path, method: 'POST', ca: ca.certPem, ...(asAgent ? { cert, key: agentKey.privateKeyPem } : {}), agent: false },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), text }));
        },
      );
      req.once('error', reject);
      req.end(JSON.stringify(body));
    });
  return { post, assumed, close: () => (server.close(), server.closeAllConnections()) };
}

test("a burst shares one GET_TASKS; a task on another agent is refused on a fresh view; the answer never holds another agent's", async () => {
  let reads = 0;
  const s = await setup(async () => {
    reads++;
    await new Promise((r) => setTimeout(r, 30));
    return [
      { taskId: onA, agentId: A, frameworkId: FRAMEWORK, state: 'TASK_RUNNING' },
      { taskId: onB, agentId: B, frameworkId: FRAMEWORK, state: 'TASK_RUNNING' },
    ];
  });
  try {
    const burst = await Promise.all(Array.from({ length: 8 }, () => s.post('/v1/credentials', { taskId: onA })));
    assert.equal(
      burst.map((r) => r.status),
      Array(8).fill(200),
    );
    assert.is(burst[0]!.body.RoleArn, 'arn:aws:iam::123456789012:role/sip-apps/web');
    assert.is(reads, 1, 'eight requests, one GET_TASKS');
    const cross = await s.post('/v1/credentials', { taskId: onB });
    assert.is(cross.status, 403);
    assert.is(cross.body.Code, 'SIP_SERVER_NOT_ON_NODE');
    assert.is(reads, 2, 'the refusal was checked against a fresh GET_TASKS');
    assert.not.match(cross.text, SECRET);
    assert.is(s.assumed.length, 8, 'nothing assumed for the refused task');
    // Another framework's executor named after the Marathon task, on the same agent.
    const borrowed = await s.post('/v1/credentials', { taskId: onA, frameworkId: 'another-framework' });
    assert.is(borrowed.body.Code, 'SIP_SERVER_NOT_MARATHON');
    assert.is((await s.post('/v1/credentials', { taskId: onA, frameworkId: FRAMEWORK })).status, 200);
  } finally {
    s.close();
  }
});

test('a master that cannot be reached: the grant is refused with the reason, nothing is assumed', async () => {
  const s = await setup(async () => {
    throw new SipError('SIP_SERVER_UPSTREAM_FAILED', 'the Mesos master cannot be reached (ECONNREFUSED)', { expose: true });
  });
  try {
    const r = await s.post('/v1/credentials', { taskId: onA });
    assert.is(r.status, 503);
    assert.is(r.body.Code, 'SIP_SERVER_UPSTREAM_FAILED');
    assert.match(r.body.Message, 'Mesos master cannot be reached');
    assert.equal(s.assumed, []);
  } finally {
    s.close();
  }
});

test("logins with one key from one address beyond the limit are throttled (429) before STS; another key from the same address (the node's agent beside a tenant) is not", async () => {
  const s = await setup(async () => []);
  const proofOf = (key: string) => ({
    method: 'POST',
    body: 'Action=GetCallerIdentity&Version=2011-06-15',
    headers: { authorization: `AWS4-HMAC-SHA256 Credential=${key}/20261203/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=${'a'.repeat(64)}` },
  });
  try {
    const tenant = [];
    for (let i = 0; i < 5; i++) tenant.push((await s.post('/v1/login', { proof: proofOf('ASIATENANTKEY0000001'), publicKey: 'k' }, false)).body.Code);
    assert.equal(tenant, [
      'SIP_SERVER_PROOF_INVALID',
      'SIP_SERVER_PROOF_INVALID',
      'SIP_SERVER_PROOF_INVALID',
      'SIP_SERVER_LOGIN_THROTTLED',
      'SIP_SERVER_LOGIN_THROTTLED',
    ]);
    const agent = await s.post('/v1/login', { proof: proofOf('ASIAAGENTKEY00000001'), publicKey: 'k' }, false);
    assert.is(agent.body.Code, 'SIP_SERVER_PROOF_INVALID', 'the other key is heard (and refused on its merits here)');
    const unsigned = await s.post('/v1/login', { proof: { body: 'x', headers: {} }, publicKey: 'k' }, false);
    assert.is(unsigned.body.Code, 'SIP_SERVER_PROOF_INVALID', 'no signature: refused before any limit or STS');
  } finally {
    s.close();
  }
});

test.run();
