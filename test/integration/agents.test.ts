import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EC2Client } from '@aws-sdk/client-ec2';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { request as httpsRequest } from 'node:https';
import { createLogger } from '@secure-instance-profiles/framework-plugin/log';
import { createServerClient, createStsAssumer } from '@secure-instance-profiles/framework-plugin/delivery/endpoint';
import { createCredentialCache } from '@secure-instance-profiles/framework-plugin/core/agent';
import { createDcosSecretsClient, createMarathonClient } from '@secure-instance-profiles/framework-plugin';
import { freePort, waitFor } from '@secure-instance-profiles/framework-plugin/net';
import { parseMasterAgents, parseMasterTasks } from '@secure-instance-profiles/framework-plugin/clients/mesos';
import {
  agentOfInstance,
  createCredentialServer,
  createReplayGuard,
  createServerCa,
  ec2PrivateIps,
  issueServerCertificate,
  KEY_HEADER,
  keyDigest,
  newKeyPair,
  signNodeProof,
  verifyNodeProof,
} from '@secure-instance-profiles/framework-plugin/delivery/server';
import { readInstanceProfileCredentials } from '../src/fixtures/imds.js';
import type { AwsCredentials } from '@secure-instance-profiles/framework-plugin/local/emulator';
import { createAppRole } from '../src/fixtures/appRole.js';
import { runProcess, type Ran } from '../src/fixtures/process.js';

// A local cluster of three agents, as `sip cluster up --agents 3` gives it:
// the masters' view (GET_AGENTS, GET_TASKS) in Mesos's shapes, tasks placed by
// Marathon's constraints and agent attributes, each task's address its
// agent's, each agent's sip agent serving its own tasks only, and an agent
// killed mid-traffic: its tasks replaced on the others while EdgeLB serves.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SIP = join(ROOT, 'framework-plugin/bin/sip.mjs');
const state = mkdtempSync(join(tmpdir(), 'sip-agents-'));
const EXTERNAL_ID = `agents-${Date.now()}`;
const HOST = 'web.agents.example.com';
const AUDIENCE = 'sip-server.agents.test';

let info: Record<string, any> = {};
let token = '';
let lbPort = 0;

const sip = async (args: string[], input?: string): Promise<Ran> =>
  runProcess(process.execPath, [SIP, ...args], { env: { ...process.env, SIP_STATE_DIR: state }, ...(input === undefined ? {} : { input }) });
const app = async (id: string): Promise<any> => JSON.parse((await sip(['marathon', 'app', 'show', id])).out);
const running = async (id: string): Promise<any[]> => ((await app(id).catch(() => ({ tasks: [] }))).tasks ?? []).filter((t: any) => t.state === 'TASK_RUNNING');
const taskLog = async (taskId: string): Promise<string> => (await sip(['marathon', 'task', 'log', taskId])).out;
/** A call to the Mesos master stand-in's operator API, as a DC/OS operator (ACS token). */
async function master(body: unknown): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`${info.mesosMasterUrl}/api/v1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `token=${token}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    // plain text, as Mesos answers errors
  }
  return { status: res.status, json, text };
}
/** GET through EdgeLB with the app's Host header: status, or 0 when the connection failed. */
function viaLb(): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: lbPort, path: '/', headers: { host: HOST }, agent: false, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** An instance's id from its metadata endpoint (IMDSv2), as a process on the node (root here) reads it. */
async function instanceIdAt(imds: string): Promise<string> {
  const t = await (await fetch(`${imds}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } })).text();
  return (await fetch(`${imds}/latest/meta-data/instance-id`, { headers: { 'x-aws-ec2-metadata-token': t } })).text();
}

const agents = suite('a local cluster of three agents');

agents.before(async () => {
  lbPort = await freePort();
  const up = await sip([
    'cluster',
    'up',
    '--agents',
    '3',
    '--agent-attribute',
    '1:rack_id=rack-1',
    '--agent-attribute',
    '2:rack_id=rack-1',
    '--agent-attribute',
    '3:rack_id=rack-2',
    '--lb-port',
    String(lbPort),
    '--aws-credentials',
    'endpoint',
  ]);
  assert.is(up.code, 0, up.out + up.err);
  info = JSON.parse(readFileSync(join(state, 'cluster.json'), 'utf8'));
  token = readFileSync(join(state, 'acs-token'), 'utf8').trim();
  const { awsConfig } = await createAppRole(state, 'fleet', EXTERNAL_ID);
  assert.is((await sip(['security', 'secrets', 'create', 'fleet/aws-config'], awsConfig)).code, 0);
});

agents.after(async () => {
  await sip(['cluster', 'down']);
  rmSync(state, { recursive: true, force: true });
});

agents('the masters see three agents with their attributes; constraints place tasks; a task runs at its agent’s address', async () => {
  const listed = await master({ type: 'GET_AGENTS' });
  assert.is(listed.status, 200, listed.text);
  const got = listed.json.get_agents.agents.map((a: any) => ({
    id: a.agent_info.id.value,
    hostname: a.agent_info.hostname,
    rack: a.agent_info.attributes.find((x: any) => x.name === 'rack_id')?.text.value,
    cpus: a.agent_info.resources.find((r: any) => r.name === 'cpus')?.type,
  }));
  assert.equal(
    got.map((a: any) => [a.hostname, a.rack, a.cpus]),
    [
      ['127.0.0.1', 'rack-1', 'SCALAR'],
      ['127.0.0.2', 'rack-1', 'SCALAR'],
      ['127.0.0.3', 'rack-2', 'SCALAR'],
    ],
  );
  assert.ok(
    got.every((a: any, i: number) => a.id.endsWith(`-S${i}`) && a.id.startsWith(got[0].id.slice(0, 36))),
    'Mesos agent ids: one master id, -S0 to -S2',
  );
  assert.equal(
    info.agents.map((a: any) => a.id),
    got.map((a: any) => a.id),
    'cluster.json names the same agents',
  );
  // Each agent is its own EC2 instance: its own metadata endpoint and instance id.
  const ids = await Promise.all(info.agents.map((a: any) => instanceIdAt(a.imdsEndpoint)));
  assert.equal(
    ids,
    info.agents.map((a: any) => a.instanceId),
  );
  assert.is(new Set(ids).size, 3);
  assert.ok(
    ids.every((id: string) => /^i-[0-9a-f]{17}$/.test(id)),
    `EC2's instance id form: ${ids}`,
  );
  const unique = { id: '/fleet/spread', cmd: 'exec sleep 600', instances: 3, mem: 16, cpus: 0.05, constraints: [['hostname', 'UNIQUE']] };
  const rack2 = { id: '/fleet/rack2', cmd: 'exec sleep 600', instances: 2, mem: 16, cpus: 0.05, constraints: [['rack_id', 'CLUSTER', 'rack-2']] };
  for (const a of [unique, rack2]) assert.is((await sip(['marathon', 'app', 'add'], JSON.stringify(a))).code, 0);
  await waitFor(async () => (await running(unique.id)).length === 3 && (await running(rack2.id)).length === 2, {
    what: 'placed tasks',
    timeoutMs: 30_000,
    intervalMs: 250,
  });
  const spread = await running(unique.id);
  assert.equal(spread.map((t) => t.host).sort(), ['127.0.0.1', '127.0.0.2', '127.0.0.3'], 'UNIQUE hostname: one per agent');
  assert.equal(
    (await running(rack2.id)).map((t) => t.host),
    ['127.0.0.3', '127.0.0.3'],
    'CLUSTER rack_id:rack-2',
  );
  // A fourth UNIQUE instance waits in Marathon's queue.
  assert.is((await sip(['marathon', 'app', 'update', unique.id, 'instances=4'])).code, 0);
  await waitFor(async () => JSON.parse((await sip(['marathon', 'app', 'show', unique.id])).out).tasksStaged === 0, { what: 'settled', timeoutMs: 5000 });
  assert.is((await running(unique.id)).length, 3, 'no agent left for a fourth');
  // The masters' GET_TASKS: each task on the agent Marathon says it is on.
  const tasks = (await master({ type: 'GET_TASKS' })).json.get_tasks.tasks;
  const frameworkId = ((await (await fetch(`${info.marathonUrl}/v2/info`, { headers: { authorization: `token=${token}` } })).json()) as any).frameworkId;
  for (const t of spread) {
    const m = tasks.find((x: any) => x.task_id.value === t.id);
    assert.ok(m, `the master lists ${t.id}`);
    assert.is(m.agent_id.value, t.slaveId);
    assert.is(m.state, 'TASK_RUNNING');
    assert.is(m.framework_id.value, frameworkId, "Marathon's framework");
    assert.is(m.statuses[0].container_status.network_infos[0].ip_addresses[0].ip_address, t.host);
  }
  // Errors as Mesos writes them.
  const bad = await master({ type: 'NOT_A_CALL' });
  assert.is(bad.status, 400);
  assert.match(bad.text, "Failed to find enum for 'NOT_A_CALL'");
  const anonymous = await fetch(`${info.mesosMasterUrl}/api/v1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"type":"GET_TASKS"}',
  });
  assert.is(anonymous.status, 401, 'the masters answer DC/OS callers only');
  for (const a of [unique, rack2]) await sip(['marathon', 'app', 'remove', a.id]);
});

agents("a task gets credentials from its own agent's sip agent; every other agent's refuses it", async () => {
  const others = info.agents.map((a: any) => `${a.n}=${a.credentialsUrl}/v1/credentials`).join(' ');
  const probe = {
    id: '/fleet/probe',
    // Once its token is written: its own agent (the SDK's variable), then every agent's endpoint, with its own token.
    cmd:
      'until [ -s "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" ]; do sleep 0.05; done; T=$(cat "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); ' +
      'echo "own $(curl -s -o /dev/null -w %{http_code} -H "Authorization: $T" "$AWS_CONTAINER_CREDENTIALS_FULL_URI")"; ' +
      'for o in $OTHERS; do echo "agent${o%%=*} $HOST $(curl -s -H "Authorization: $T" "${o#*=}" | sed -n "s/.*\\"Code\\":\\"\\([A-Z_]*\\)\\".*/\\1/p;s/.*\\(AccessKeyId\\).*/\\1/p" | tr "\\n" " ")"; done; exec sleep 600',
    instances: 3,
    mem: 32,
    cpus: 0.05,
    env: { OTHERS: others },
    constraints: [['hostname', 'UNIQUE']],
    labels: { 'sip.aws.credentials': 'endpoint', 'sip.aws.config-secret': 'fleet/aws-config' },
  };
  assert.is((await sip(['marathon', 'app', 'add'], JSON.stringify(probe))).code, 0);
  await waitFor(async () => (await running(probe.id)).length === 3, { what: 'three probes', timeoutMs: 30_000, intervalMs: 250 });
  for (const t of await running(probe.id)) {
    let log = '';
    await waitFor(async () => (log = await taskLog(t.id)).split('\n').filter(Boolean).length >= 4, { what: `${t.id}'s answers`, timeoutMs: 30_000 });
    assert.match(log, 'own 200', `a task on ${t.host} gets its credentials: ${log}`);
    const n = Number(t.host.split('.')[3]);
    for (const line of log.split('\n').filter((l) => l.startsWith('agent'))) {
      const [who] = line.split(' ');
      if (who === `agent${n}`) assert.match(line, 'AccessKeyId', `its own agent answers: ${line}`);
      else {
        // Each agent signs its own tasks' tokens (its own key): another agent's token is no token there.
        assert.match(line, /SIP_AGENT_TOKEN_INVALID/, `${who} refuses a task on ${t.host}: ${line}`);
        assert.not.match(line, 'AccessKeyId');
      }
    }
  }
  assert.not.match(await taskLog((await running(probe.id))[0].id), EXTERNAL_ID);
  await sip(['marathon', 'app', 'remove', probe.id]);
});

/** What sip server does with an agent's proof: STS says which instance signed it, EC2 its address, the master which agent is there. */
async function proveNode(agent: any, held?: AwsCredentials): Promise<string> {
  const replay = createReplayGuard(300_000);
  // As the node's sip agent (root on the node) reads its instance profile; tasks cannot reach this endpoint.
  const credentials = held ?? (await readInstanceProfileCredentials(agent.imdsEndpoint));
  const proof = await signNodeProof(AUDIENCE, { endpoint: info.awsEndpoint, region: info.region, credentials });
  const node = await verifyNodeProof(
    proof,
    { stsEndpoint: info.awsEndpoint, audience: AUDIENCE, agentRoles: ['sip-local-agent'], account: info.agentRoleArn.split(':')[4] },
    replay,
  );
  const admin = JSON.parse(readFileSync(join(state, 'aws-admin.json'), 'utf8'));
  const ec2 = new EC2Client({
    endpoint: info.awsEndpoint,
    region: info.region,
    credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
  });
  try {
    const found = await agentOfInstance(node.instanceId, {
      privateIpOf: ec2PrivateIps(ec2),
      agents: async () => parseMasterAgents((await master({ type: 'GET_AGENTS' })).json),
    });
    return `${node.instanceId} ${found.agentId}`;
  } finally {
    ec2.destroy();
  }
}

agents('each agent proves which node it is with its instance profile: STS names the instance, EC2 its address, the master the agent', async () => {
  for (const a of info.agents) assert.is(await proveNode(a), `${a.instanceId} ${a.id}`, `agent ${a.n}`);
});

/** A POST to sip server, with an agent's certificate (mutual TLS) or none. */
function toServer(url: string, path: string, body: unknown, ca: string, client?: { cert: string; key: string }): Promise<{ status: number; body: any }> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = httpsRequest(
      { host: u.hostname, port: u.port, path, method: 'POST', ca, ...(client ?? {}), headers: { 'content-type': 'application/json' }, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || 'null') }));
      },
    );
    req.on('error', (e: Error) => resolve({ status: 0, body: e.message }));
    req.end(JSON.stringify(body));
  });
}

agents(
  'sip server: an agent logs in with its node proof and gets, over mutual TLS, credentials for its own tasks only; a replica dies, the other answers',
  async () => {
    const admin = JSON.parse(readFileSync(join(state, 'aws-admin.json'), 'utf8'));
    const adminCreds = { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey };
    const aws = { endpoint: info.awsEndpoint, region: info.region };
    // The server's own role (the only one app roles trust), and an app role trusting it alone.
    const iam = new IAMClient({ ...aws, credentials: adminCreds });
    const adminArn = (await new STSClient({ ...aws, credentials: adminCreds }).send(new GetCallerIdentityCommand({}))).Arn!;
    const serverRole = (
      await iam.send(
        new CreateRoleCommand({
          RoleName: 'sip-test-server',
          AssumeRolePolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { AWS: adminArn }, Action: 'sts:AssumeRole' }],
          }),
        }),
      )
    ).Role!.Arn!;
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'sip-test-server',
        PolicyName: 'assume-app-roles',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'], Resource: '*' },
            { Effect: 'Allow', Action: 'ec2:DescribeInstances', Resource: '*' },
          ],
        }),
      }),
    );
    const appRole = (
      await iam.send(
        new CreateRoleCommand({
          RoleName: 'served',
          Path: '/sip-apps/',
          AssumeRolePolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Principal: { AWS: serverRole }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': EXTERNAL_ID } } },
              { Effect: 'Allow', Principal: { AWS: serverRole }, Action: ['sts:TagSession', 'sts:SetSourceIdentity'] },
            ],
          }),
        }),
      )
    ).Role!.Arn!;
    iam.destroy();
    const conf = `[default]\nrole_arn = ${appRole}\nexternal_id = ${EXTERNAL_ID}\ncredential_source = Ec2InstanceMetadata\n`;
    assert.is((await sip(['security', 'secrets', 'create', 'served/aws-config'], conf)).code, 0);
    const sc = (await new STSClient({ ...aws, credentials: adminCreds }).send(new AssumeRoleCommand({ RoleArn: serverRole, RoleSessionName: 'sip-server-1' })))
      .Credentials!;
    const serverCreds = { accessKeyId: sc.AccessKeyId!, secretAccessKey: sc.SecretAccessKey!, sessionToken: sc.SessionToken! };

    // The server: its CA and serving certificate, the emulator's STS and EC2, the master, Marathon and the secrets API.
    const ca = await createServerCa();
    const serving = await newKeyPair();
    const tls = {
      cert: await issueServerCertificate(ca, { hosts: ['127.0.0.1'], publicKeyPem: serving.publicKeyPem, lifetimeSeconds: 3600 }),
      key: serving.privateKeyPem,
    };
    const ec2 = new EC2Client({ ...aws, credentials: adminCreds });
    const marathonClient = createMarathonClient({ url: info.marathonUrl, token });
    let appReads = 0; // the in-process replica's Marathon reads: each credential request the agent did not answer itself
    const marathon = {
      info: () => marathonClient.info(),
      getApp: (id: string) => (appReads++, marathonClient.getApp(id)),
    };
    const replica = async (): Promise<{ url: string; close(): void }> => {
      const server = createCredentialServer({
        ca,
        tls,
        trustDomain: 'sip.test',
        certLifetimeSeconds: 600,
        proof: { stsEndpoint: info.awsEndpoint, audience: AUDIENCE, agentRoles: ['sip-local-agent'], account: info.agentRoleArn.split(':')[4] },
        nodes: { privateIpOf: ec2PrivateIps(ec2), agents: async () => parseMasterAgents((await master({ type: 'GET_AGENTS' })).json) },
        masterTasks: async () => parseMasterTasks((await master({ type: 'GET_TASKS' })).json),
        marathon,
        roles: { kind: 'secrets', store: createDcosSecretsClient({ url: info.secretsUrl, token }), audit: () => undefined },
        cache: createCredentialCache({ assume: createStsAssumer({ client: new STSClient({ ...aws, credentials: serverCreds }) }), now: Date.now }),
        logger: createLogger({ name: 'sip-server-test', level: 'silent' }),
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return {
        url: `https://127.0.0.1:${(server.address() as { port: number }).port}`,
        close: () => {
          server.close();
          server.closeAllConnections();
        },
      };
    };
    // A real `sip server` process, as an operator runs one: the CA's files, the server role's credentials, the ACS token.
    const serverProcess = async (): Promise<{ url: string; close(): void }> => {
      const dir = mkdtempSync(join(tmpdir(), 'sip-server-'));
      writeFileSync(join(dir, 'ca.pem'), ca.certPem);
      writeFileSync(join(dir, 'ca.key'), ca.keyPem, { mode: 0o600 });
      writeFileSync(join(dir, 'token'), token, { mode: 0o600 });
      const ready = join(dir, 'ready');
      const args = ['server', '--listen', `127.0.0.1:${await freePort()}`, '--ca-cert', join(dir, 'ca.pem'), '--ca-key', join(dir, 'ca.key')];
      args.push('--trust-domain', 'sip.test', '--audience', AUDIENCE, '--agent-role', 'sip-local-agent', '--mesos-master-url', info.mesosMasterUrl);
      args.push('--marathon-url', info.marathonUrl, '--secrets-url', info.secretsUrl, '--token-file', join(dir, 'token'), '--ready-file', ready);
      const env = {
        PATH: process.env.PATH,
        AWS_ACCESS_KEY_ID: serverCreds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: serverCreds.secretAccessKey,
        AWS_SESSION_TOKEN: serverCreds.sessionToken,
        AWS_ENDPOINT_URL: info.awsEndpoint,
        AWS_REGION: info.region,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      };
      const proc = spawn(process.execPath, [SIP, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => (out += d));
      proc.stderr!.on('data', (d: Buffer) => (out += d));
      await waitFor(async () => existsSync(ready) || proc.exitCode !== null, { what: 'sip server ready', timeoutMs: 20_000, intervalMs: 100 });
      assert.ok(existsSync(ready), `sip server did not start: ${out.slice(-500)}`);
      return {
        url: readFileSync(ready, 'utf8').trim(),
        close: () => {
          proc.kill();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    };
    // Two replicas sharing the CA: one in this process, one a real `sip server`; an agent may use either.
    const first = await replica();
    const second = await serverProcess();
    const url = first.url;
    try {
      // A task of the app on agent 1 (pinned there), one on agent 3.
      const app = {
        id: '/served/app',
        cmd: 'exec sleep 600',
        instances: 2,
        mem: 16,
        cpus: 0.05,
        constraints: [['hostname', 'LIKE', '127\\.0\\.0\\.[13]']],
        labels: { 'sip.aws.credentials': 'endpoint', 'sip.aws.config-secret': 'served/aws-config' },
      };
      assert.is((await sip(['marathon', 'app', 'add'], JSON.stringify(app))).code, 0);
      await waitFor(async () => (await running(app.id)).length === 2, { what: 'two tasks', timeoutMs: 30_000, intervalMs: 250 });
      const tasks = await running(app.id);
      const onA = tasks.find((t) => t.host === '127.0.0.1')!;
      const onC = tasks.find((t) => t.host === '127.0.0.3')!;
      // Each agent logs in with its own instance profile's proof, binding its own new key.
      const login = async (a: any): Promise<{ cert: string; key: string; status: number; body: any }> => {
        const keys = await newKeyPair();
        const credentials = await readInstanceProfileCredentials(a.imdsEndpoint);
        const proof = await signNodeProof(AUDIENCE, { ...aws, credentials }, { [KEY_HEADER]: keyDigest(keys.publicKeyPem) });
        const r = await toServer(url, '/v1/login', { proof, publicKey: keys.publicKeyPem }, ca.certPem);
        return { cert: r.body?.certificate, key: keys.privateKeyPem, status: r.status, body: r.body };
      };
      const a = await login(info.agents[0]);
      const c = await login(info.agents[2]);
      assert.is(a.status, 200, JSON.stringify(a.body));
      assert.match(a.cert, 'BEGIN CERTIFICATE');
      const ownA = await toServer(url, '/v1/credentials', { taskId: onA.id }, ca.certPem, a);
      assert.is(ownA.status, 200, JSON.stringify(ownA.body?.Code ?? ownA.body));
      assert.match(ownA.body.RoleArn, appRole);
      const ownC = await toServer(url, '/v1/credentials', { taskId: onC.id }, ca.certPem, c);
      assert.is(ownC.status, 200, JSON.stringify(ownC.body?.Code ?? ownC.body));
      // Agent A asking for the task on C: denied from the masters' view.
      const cross = await toServer(url, '/v1/credentials', { taskId: onC.id }, ca.certPem, a);
      assert.is(cross.status, 403);
      assert.is(cross.body.Code, 'SIP_SERVER_NOT_ON_NODE');
      // No certificate, or a login whose key the proof does not bind, or a replayed proof.
      const anonymous = await toServer(url, '/v1/credentials', { taskId: onA.id }, ca.certPem);
      assert.is(anonymous.body.Code, 'SIP_SERVER_CERT_INVALID');
      const keys = await newKeyPair();
      const proof = await signNodeProof(
        AUDIENCE,
        { ...aws, credentials: await readInstanceProfileCredentials(info.agents[0].imdsEndpoint) },
        { [KEY_HEADER]: keyDigest(keys.publicKeyPem) },
      );
      const other = await newKeyPair();
      const swapped = await toServer(url, '/v1/login', { proof, publicKey: other.publicKeyPem }, ca.certPem);
      assert.is(swapped.body.Code, 'SIP_SERVER_PROOF_INVALID');
      assert.match(swapped.body.Message, 'does not bind x-sip-public-key-sha256');
      assert.is((await toServer(url, '/v1/login', { proof, publicKey: keys.publicKeyPem }, ca.certPem)).status, 200);
      const replayed = await toServer(url, '/v1/login', { proof, publicKey: keys.publicKeyPem }, ca.certPem);
      assert.match(replayed.body.Message, 'a replay');
      // The agents' own instance profile cannot assume the app role: only the server's can.
      const agentCreds = await readInstanceProfileCredentials(info.agents[0].imdsEndpoint);
      const direct = await new STSClient({ ...aws, credentials: agentCreds })
        .send(new AssumeRoleCommand({ RoleArn: appRole, RoleSessionName: 'direct', ExternalId: EXTERNAL_ID }))
        .then(
          () => 'assumed',
          (e: Error) => e.name,
        );
      assert.is(direct, 'AccessDenied');
      // The agent's own client: logs in by itself (its instance profile through its metadata endpoint), caches, fails over.
      const fw = String((await marathonClient.info()).frameworkId); // the framework the agent finds Marathon's tasks under
      const client = createServerClient({
        urls: [first.url, second.url],
        caPem: ca.certPem,
        audience: AUDIENCE,
        sts: { ...aws, credentials: () => readInstanceProfileCredentials(info.agents[0].imdsEndpoint) },
      });
      const got = await client.credentialsFor(onA.id, fw);
      assert.is(got.roleArn, appRole);
      assert.is(client.current(), first.url);
      assert.is((await client.credentialsFor(onA.id, fw)).cached, true, 'served from the agent until near expiry');
      const refusedCross = await client.credentialsFor(onC.id, fw).catch((e: { code?: string }) => e.code);
      assert.is(refusedCross, 'SIP_SERVER_NOT_ON_NODE');
      const readsBefore = appReads;
      assert.is(await client.credentialsFor(onC.id, fw).catch((e: { code?: string }) => e.code), 'SIP_SERVER_NOT_ON_NODE');
      assert.is(appReads, readsBefore, 'a lasting refusal is remembered by the agent: the server is not asked again at once');
      // The replica in use dies: the next request goes to the other, within seconds, with a new login there.
      first.close();
      client.forgetTask(onA.id);
      const t0 = Date.now();
      const again = await client.credentialsFor(onA.id, fw);
      const failoverMs = Date.now() - t0;
      assert.is(again.roleArn, appRole);
      assert.is(client.current(), second.url);
      assert.ok(failoverMs < 5000, `failed over in ${failoverMs} ms`);
      process.stdout.write(`\n  sip server replica killed: the agent's next request answered by the other in ${failoverMs} ms\n`);
      // A real `sip agent --server` on node 1, holding no secrets access and no role: a task there gets its credentials through it.
      const caFile = join(state, 'sip-server-ca.pem');
      writeFileSync(caFile, ca.certPem);
      const port = await freePort();
      const a1 = info.agents[0];
      const agentProc = spawn(
        process.execPath,
        [
          SIP,
          'agent',
          '--listen',
          `127.0.0.1:${port}`,
          '--marathon-url',
          info.marathonUrl,
          '--mesos-agent-url',
          a1.mesosAgentUrl,
          '--cgroups-root',
          a1.cgroupsRoot,
          '--server',
          first.url,
          '--server',
          second.url,
          '--server-ca',
          caFile,
          '--server-audience',
          AUDIENCE,
          '--service-account',
          'sip-agent',
          '--service-account-key',
          join(state, 'sip-agent.service-account.key'),
          '--cluster-url',
          info.iamUrl,
        ],
        {
          env: { ...process.env, AWS_EC2_METADATA_SERVICE_ENDPOINT: a1.imdsEndpoint, AWS_ENDPOINT_URL: info.awsEndpoint, AWS_REGION: info.region },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let agentLog = '';
      agentProc.stdout!.on('data', (d: Buffer) => (agentLog += d));
      agentProc.stderr!.on('data', (d: Buffer) => (agentLog += d));
      try {
        const via = {
          id: '/served/via-agent',
          cmd: `while true; do curl -s -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:${port}/v1/credentials; sleep 0.5; done`,
          mem: 16,
          cpus: 0.05,
          constraints: [['hostname', 'CLUSTER', '127.0.0.1']],
          labels: { 'sip.aws.credentials': 'endpoint', 'sip.aws.config-secret': 'served/aws-config' },
        };
        assert.is((await sip(['marathon', 'app', 'add'], JSON.stringify(via))).code, 0);
        const [t] = await (async () => {
          await waitFor(async () => (await running(via.id)).length === 1, { what: 'the task', timeoutMs: 30_000, intervalMs: 250 });
          return running(via.id);
        })();
        let log = '';
        await waitFor(async () => /^200$/m.test((log = await taskLog(t.id))), {
          what: `a 200 through sip agent --server (agent log: ${agentLog.slice(-800)})`,
          timeoutMs: 30_000,
          intervalMs: 500,
        }).catch((err: Error) => {
          throw new Error(`${err.message}; task saw: ${log.split('\n').slice(-5).join(' ')}`);
        });
        assert.match(agentLog, '"via":"sip server"', 'issued through the server');
        assert.not.match(agentLog, EXTERNAL_ID);
        await sip(['marathon', 'app', 'remove', via.id]);
      } finally {
        agentProc.kill();
      }
      await sip(['marathon', 'app', 'remove', app.id]);
    } finally {
      first.close();
      second.close();
      ec2.destroy();
    }
  },
);

agents('an agent killed mid-traffic: its tasks are lost and replaced on the others, and EdgeLB keeps serving', async () => {
  const web = {
    id: '/fleet/web',
    cmd: 'exec python3 -m http.server "$PORT0" --bind "$HOST"',
    instances: 3,
    mem: 32,
    cpus: 0.05,
    portDefinitions: [{ port: 0 }],
    healthChecks: [{ protocol: 'MESOS_HTTP', path: '/', portIndex: 0, gracePeriodSeconds: 10, intervalSeconds: 1, maxConsecutiveFailures: 2 }],
    labels: { 'edgelb.expose': 'true', 'edgelb.template': 'default', 'edgelb.web.frontend.rules': `hostEq:${HOST}` },
  };
  assert.is((await sip(['marathon', 'app', 'add'], JSON.stringify(web))).code, 0);
  await waitFor(async () => (await app(web.id)).tasksHealthy === 3, { what: 'three healthy', timeoutMs: 60_000, intervalMs: 250 });
  assert.equal((await running(web.id)).map((t) => t.host).sort(), ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  await waitFor(async () => (await viaLb()) === 200, { what: 'EdgeLB routing', timeoutMs: 30_000, intervalMs: 200 });
  // Traffic all along: one request every 50 ms.
  const results: Array<{ at: number; status: number }> = [];
  let traffic = true;
  const load = (async () => {
    while (traffic) {
      results.push({ at: Date.now(), status: await viaLb() });
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await new Promise((r) => setTimeout(r, 1000));
  const lost = (await running(web.id)).find((t) => t.host === '127.0.0.2')!;
  const heldByAgent2 = await readInstanceProfileCredentials(info.agents[1].imdsEndpoint);
  const killedAt = Date.now();
  const kill = await sip(['cluster', 'agent', 'kill', '2']);
  assert.is(kill.code, 0, kill.out + kill.err);
  assert.match(kill.out, 'agent 2');
  // Replaced on the agents left, healthy again.
  await waitFor(async () => (await app(web.id)).tasksHealthy === 3, { what: 'replaced', timeoutMs: 60_000, intervalMs: 250 });
  const replacedAt = Date.now();
  const now = await running(web.id);
  assert.ok(
    now.every((t) => t.host !== '127.0.0.2'),
    `nothing on the dead agent: ${now.map((t) => t.host)}`,
  );
  assert.not.ok(
    now.some((t) => t.id === lost.id),
    'the lost task is gone',
  );
  await new Promise((r) => setTimeout(r, 3000));
  traffic = false;
  await load;
  const failedDuring = results.filter((r) => r.at >= killedAt && r.at < replacedAt && r.status !== 200).length;
  const after = results.filter((r) => r.at >= replacedAt);
  const failedAfter = after.filter((r) => r.status !== 200).length;
  process.stdout.write(
    `\n  agent kill under traffic: ${results.length} requests, ${failedDuring} failed between the kill and the reschedule (${replacedAt - killedAt} ms), ${failedAfter} of ${after.length} after\n`,
  );
  assert.is(failedAfter, 0, 'EdgeLB serves every request once the tasks are replaced');
  assert.ok(after.length >= 20, 'traffic went on after the reschedule');
  // The master: agent 2 no longer listed; killing it again is an error that says so.
  const listed = (await master({ type: 'GET_AGENTS' })).json.get_agents.agents.map((a: any) => a.agent_info.hostname);
  assert.equal(listed, ['127.0.0.1', '127.0.0.3']);
  // Its instance went with it.
  const dead = await instanceIdAt(info.agents[1].imdsEndpoint).then(
    () => 'answered',
    () => 'gone',
  );
  assert.is(dead, 'gone', "the dead node's metadata endpoint is gone");
  // Its instance profile's credentials, taken before it died (root on it had them), prove an instance that is no agent now.
  const killed = await proveNode(info.agents[1], heldByAgent2).catch((err: { code?: string; message: string }) => `${err.code}: ${err.message}`);
  assert.match(killed, /^SIP_SERVER_UNKNOWN_NODE: instance i-[0-9a-f]+ \(127\.0\.0\.2\) is no agent the Mesos master knows/);
  const again = await sip(['cluster', 'agent', 'kill', '2']);
  assert.is(again.code, 5);
  assert.match(again.err, 'already gone');
  const list = await sip(['cluster', 'agent', 'list', '--json']);
  assert.equal(
    JSON.parse(list.out).map((a: any) => [a.n, a.gone]),
    [
      [1, false],
      [2, true],
      [3, false],
    ],
  );
});

agents.run();
