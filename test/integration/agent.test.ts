import { createHash } from 'node:crypto';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTerraform, type Terraform } from '@secure-instance-profiles/framework-plugin/local/terraform';
import { freePort, waitFor } from '@secure-instance-profiles/framework-plugin/net';
import { buildBinappImage } from '@secure-instance-profiles/binapp/image';
import { getMetrics } from '../src/fixtures/http.js';
import { assertNoLeaks } from '../src/fixtures/leaks.js';
import { runProcess, type Ran } from '../src/fixtures/process.js';
import { pythonClients } from '../src/fixtures/pythonClients.js';

// sip agent (credential-endpoint mode) on the local cluster, as a user runs it:
// `sip cluster up --aws-credentials endpoint`, the real Terraform, binapp from
// marathon/binapp-endpoint.json behind EdgeLB; then the real SDKs inside
// tasks, and the hostile ones: a process outside every task, another app's
// task, a task that was killed, STS gone.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SIP = join(ROOT, 'framework-plugin/bin/sip.mjs');
const state = mkdtempSync(join(tmpdir(), 'sip-agent-'));
const work = mkdtempSync(join(tmpdir(), 'sip-agent-work-'));
const HOST = 'binapp.mesosphere.com';
const APP = '/instance-profile-app';
/** What a client that reads its token once does first: wait until sip agent has written it (within ms of TASK_RUNNING). */
const AWAIT_TOKEN = 'until [ -s "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" ]; do sleep 0.05; done; ';
/** The cluster's label (crashRecovery.ts): its nftables table is `sip_<label>`. */
const clusterLabel = createHash('sha256').update(state).digest('hex').slice(0, 16);

let info: Record<string, any> = {};
let tf: Terraform;
let awsConfig = '';
let externalId = '';
let lbPort = 0;
const outputs: string[] = [];
const cleanup: string[] = [];
let events: ChildProcess | undefined;
let eventText = '';

const sip = async (args: string[], input?: string): Promise<Ran> => {
  // Tokens that expire during the suite: sip agent's service-account login must renew.
  const r = await runProcess(process.execPath, [SIP, ...args], {
    env: { ...process.env, SIP_STATE_DIR: state, SIP_TOKEN_LIFETIME_SECONDS: '20' },
    ...(input === undefined ? {} : { input }),
  });
  outputs.push(r.out, r.err);
  return r;
};
/** GET the credentials endpoint from this test process: a process outside every task. */
function fromOutside(headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${info.credentials.url}/v1/credentials`, { headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || 'null') }));
    });
    req.on('error', reject);
    req.end();
  });
}
const app = async (id: string): Promise<any> => JSON.parse((await sip(['marathon', 'app', 'show', id])).out);
const taskLog = async (taskId: string, stderr = false): Promise<string> =>
  (await sip(['marathon', 'task', 'log', taskId, ...(stderr ? ['--stderr'] : [])])).out;
const runningTask = async (id: string): Promise<any> => {
  let t: any;
  await waitFor(async () => (t = (await app(id).catch(() => ({ tasks: [] }))).tasks?.find((x: any) => x.state === 'TASK_RUNNING')), {
    what: `${id} running`,
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  return t;
};
const waitForLog = async (taskId: string, pattern: RegExp, what: string): Promise<string> => {
  let out = '';
  await waitFor(async () => pattern.test((out = await taskLog(taskId))), { what, timeoutMs: 60_000, intervalMs: 250 }).catch(() => undefined);
  return out;
};

const agent = suite('sip agent: per-task credentials, the external id never in a task');

agent.before(async () => {
  lbPort = await freePort();
  const up = await sip(['cluster', 'up', '--lb-port', String(lbPort), '--aws-credentials', 'endpoint']);
  assert.is(up.code, 0, up.out + up.err);
  assert.match(up.out, /credential agent\s+http:\/\/127\.0\.0\.1:\d+\/v1\/credentials\s+\(default mode endpoint/);
  info = JSON.parse(readFileSync(join(state, 'cluster.json'), 'utf8'));
  const admin = JSON.parse(readFileSync(join(state, 'aws-admin.json'), 'utf8'));
  for (const dir of ['terraform', 'marathon'])
    cpSync(join(ROOT, dir), join(work, dir), { recursive: true, filter: (p) => !/\.terraform($|\/)|\.tfstate|auto\.tfvars/.test(p) });
  tf = createTerraform({
    configDir: join(work, 'terraform'),
    workDir: join(work, 'run'),
    credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
  });
  await tf.init();
  await tf.apply({
    aws_endpoint: info.awsEndpoint,
    region: info.region,
    agent_role_arn: info.agentRoleArn,
    public_agents_loadbalancer: `127.0.0.1:${lbPort}`,
    app_definition_file: join(work, 'marathon/binapp-endpoint.json'),
  });
  awsConfig = await tf.output('secret_aws_conf');
  externalId = /external_id\s*=\s*(\S+)/.exec(awsConfig)![1]!;
  const token = readFileSync(join(state, 'acs-token'), 'utf8').trim();
  events = spawn(
    'curl',
    ['-sN', '-H', 'Accept: text/event-stream', '-H', `Authorization: token=${token}`, `${info.marathonUrl}/v2/events?event_type=sip_credentials_denied`],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  events.stdout!.on('data', (d: Buffer) => (eventText += d));
  await waitFor(async () => eventText.includes('event_stream_attached'), { what: 'the event stream attached', timeoutMs: 10_000, intervalMs: 50 });
});

agent.after(async () => {
  events?.kill();
  if (tf) await tf.destroy().catch(() => undefined);
  await sip(['cluster', 'down']);
  // Stopped, sip agent removed its nftables table.
  const tables = (await runProcess('nft', ['list', 'tables'])).out;
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
  assert.not.match(tables, `sip_${clusterLabel}`, 'the metadata block is gone with the cluster');
});

agent(
  'binapp from binapp-endpoint.json uploads through EdgeLB; its sandbox, environ, cmdline, logs and the API hold no external id and no AWS config',
  async () => {
    assert.is((await sip(['security', 'secrets', 'create', `${APP.slice(1)}/aws-config`], awsConfig)).code, 0);
    const def = await tf.output('marathon_app_definition');
    assert.match(def, '"sip.aws.credentials":"endpoint"');
    const added = await sip(['marathon', 'app', 'add', '--wait', '--timeout', '90'], def);
    assert.is(added.code, 0, added.out + added.err);
    const task = await runningTask(APP);
    // Through EdgeLB, as the walk-through's curl.
    let posted: Ran = { code: 1, out: '', err: '' };
    await waitFor(
      async () =>
        (posted = await runProcess('curl', [
          '-sS',
          '--fail-with-body',
          '--max-time',
          '10',
          '--user',
          'testuser:password',
          '-X',
          'POST',
          '-H',
          `Host: ${HOST}`,
          '--data-binary',
          'endpoint mode payload',
          `http://127.0.0.1:${lbPort}/bin`,
        ])).code === 0,
      { what: 'binapp routed', timeoutMs: 60_000, intervalMs: 250 },
    ).catch(() => undefined);
    assert.is(posted.code, 0, posted.out + posted.err);
    const id = /^BinID (\S+)$/m.exec(posted.out)![1]!;
    const admin = JSON.parse(readFileSync(join(state, 'aws-admin.json'), 'utf8'));
    const s3 = new S3Client({
      endpoint: info.awsEndpoint,
      region: info.region,
      forcePathStyle: true,
      credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
    });
    const obj = await s3.send(new GetObjectCommand({ Bucket: await tf.output('s3_bucket_name'), Key: `bin/${id}` }));
    assert.is(await obj.Body!.transformToString(), 'endpoint mode payload');
    s3.destroy();

    // Nothing of the AWS config reached the task: not its sandbox, environment, command line or logs; nor the API.
    const sandbox = join(state, 'sandboxes', task.id);
    const files = readdirSync(sandbox, { recursive: true, encoding: 'utf8' })
      .map((f) => join(sandbox, f))
      .filter((f) => statSync(f).isFile());
    assert.not.ok(existsSync(join(sandbox, 'aws-config')), 'no aws-config file in the sandbox');
    // The token is a regular file of the task's user, written into its sandbox by sip agent (no launcher holds its key).
    const tokenStat = lstatSync(join(sandbox, '.sip-task-token'));
    assert.ok(tokenStat.isFile() && tokenStat.uid === statSync(sandbox).uid && (tokenStat.mode & 0o777) === 0o400);
    const pids = readFileSync(join('/sys/fs/cgroup/pids', info.cgroups.root, (await containerOf(task.id))!, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter(Boolean);
    assert.ok(pids.length > 0, 'the task has processes in its cgroup');
    const places: Record<string, string> = { 'GET /v2/apps': JSON.stringify(await app(APP)), 'cluster log': readFileSync(join(state, 'cluster.log'), 'utf8') };
    for (const f of files) places[f.slice(state.length)] = readFileSync(f, 'utf8');
    for (const pid of pids) {
      places[`/proc/${pid}/environ`] = readFileSync(`/proc/${pid}/environ`, 'utf8');
      places[`/proc/${pid}/cmdline`] = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    }
    assert.match(places[`/proc/${pids[0]}/environ`]!, 'AWS_CONTAINER_CREDENTIALS_FULL_URI=');
    assert.not.match(places[`/proc/${pids[0]}/environ`]!, 'AWS_CONFIG_FILE=');
    assertNoLeaks(places, [{ kind: 'external id', value: externalId }], { awsShapes: false });
    for (const [where, text] of Object.entries(places)) assert.not.match(text, /role_arn\s*=/, `${where} holds no AWS config`);
    // The next apps live under the group /instance-profile-app (the secret's namespace); an app cannot also be that group.
    assert.is((await sip(['marathon', 'app', 'remove', APP, '--wait'])).code, 0);
  },
);

agent('the AWS CLI, boto3 and the JavaScript SDK inside a task get the app role through their unmodified default chains', async () => {
  const py = await pythonClients();
  if (py) cleanup.push(py);
  const node = `node --input-type=module -e 'import { STSClient, GetCallerIdentityCommand } from "${join(ROOT, 'node_modules/@aws-sdk/client-sts/dist-cjs/index.js')}"; console.log("js " + (await new STSClient({}).send(new GetCallerIdentityCommand({}))).Arn)'`;
  const cmd = [
    node,
    ...(py
      ? [
          `PYTHONPATH=${py} /usr/bin/python3 -m awscli sts get-caller-identity --query Arn --output text | sed 's/^/cli /'`,
          `PYTHONPATH=${py} /usr/bin/python3 -c 'import boto3; print("boto3 " + boto3.client("sts").get_caller_identity()["Arn"])'`,
        ]
      : []),
    'exec sleep 600',
  ].join('; ');
  const clients = {
    id: `${APP}/clients`,
    cmd,
    mem: 256,
    cpus: 0.1,
    env: { AWS_REGION: info.region, AWS_DEFAULT_REGION: info.region },
    labels: { 'sip.aws.credentials': 'endpoint', 'sip.aws.config-secret': `${APP.slice(1)}/aws-config` },
  };
  assert.is((await sip(['marathon', 'app', 'add'], JSON.stringify(clients))).code, 0);
  const task = await runningTask(clients.id);
  const want = py ? /^js .*\n(.|\n)*^cli .*\n(.|\n)*^boto3 / : /^js /;
  const out = await waitForLog(task.id, want, 'every client printed its identity');
  const role = `assumed-role/sip-demo-instance-profile-app/instance-profile-app.clients@${/instance-([0-9a-f]{8})/.exec(task.id)![1]}`;
  assert.match(out, new RegExp(`^js arn:aws:sts::\\d+:${role}$`, 'm'), out + (await taskLog(task.id, true)));
  if (py) {
    assert.match(out, new RegExp(`^cli arn:aws:sts::\\d+:${role}$`, 'm'));
    assert.match(out, new RegExp(`^boto3 arn:aws:sts::\\d+:${role}$`, 'm'));
  } else process.stdout.write('\n  NOT CHECKED (python3 has no botocore): the AWS CLI and boto3 inside a task\n');
  // The agent's metrics: issued, cache hits, STS calls.
  const metrics = await getMetrics(info.credentials.metricsUrl);
  assert.match(metrics, /^sip_agent_credentials_issued_total\{cached="false"\} [1-9]/m);
  assert.match(metrics, /^sip_agent_sts_calls_total [1-9]/m);
});

agent('a process outside every task, a task of an app without a role, a token of another task: 403 with the reason, never a role', async () => {
  // Without a running task's token: refused before any lookup (a flood of these costs the agent a map lookup each).
  const outside = await fromOutside();
  assert.is(outside.status, 403);
  assert.is(outside.body.Code, 'SIP_AGENT_TOKEN_INVALID');
  assert.not.ok(outside.body.AccessKeyId);
  // 200 forged requests, 50 at a time (one uid may hold 128 connections; past that they are closed unanswered).
  const forged = [];
  for (let batch = 0; batch < 4; batch++) forged.push(...(await Promise.all(Array.from({ length: 50 }, () => fromOutside({ authorization: 'x'.repeat(43) })))));
  assert.ok(forged.every((r) => r.status === 403 && r.body.Code === 'SIP_AGENT_TOKEN_INVALID'));

  // An app of its own with no aws-config secret: its tasks are who they are, and get nothing.
  const roleless = {
    id: '/tenant/roleless',
    cmd: `${AWAIT_TOKEN}curl -s -H "Authorization: $(cat "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"; echo; exec sleep 600`,
    mem: 64,
    cpus: 0.1,
    labels: { 'sip.aws.credentials': 'endpoint' },
  };
  assert.is((await sip(['marathon', 'app', 'add'], JSON.stringify(roleless))).code, 0);
  const t1 = await runningTask(roleless.id);
  const out1 = await waitForLog(t1.id, /"Code"/, 'the roleless task got an answer');
  assert.match(out1, '"Code":"SIP_AGENT_NO_ROLE"');
  assert.match(out1, 'names no AWS config: label it sip.aws.config-secret=<secret path>');
  assert.not.match(out1, 'AccessKeyId');

  // A hostile task replaying another task's token (read from the victim's sandbox by root here) is still itself: refused.
  const victim = (await app(`${APP}/clients`)).tasks[0];
  const stolen = readFileSync(join(state, 'sandboxes', victim.id, '.sip-task-token'), 'utf8');
  const thief = {
    id: '/tenant/thief',
    cmd: `curl -s -H "Authorization: ${stolen}" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"; echo; exec sleep 600`,
    mem: 64,
    cpus: 0.1,
    labels: { 'sip.aws.credentials': 'endpoint' },
  };
  assert.is((await sip(['marathon', 'app', 'add'], JSON.stringify(thief))).code, 0);
  const t2 = await runningTask(thief.id);
  const out2 = await waitForLog(t2.id, /"Code"/, 'the thief got an answer');
  assert.match(out2, '"Code":"SIP_AGENT_TOKEN_INVALID"');
  // The stolen token from outside every task: still no task, no role.
  assert.is((await fromOutside({ authorization: stolen })).body.Code, 'SIP_AGENT_UNKNOWN_CALLER');
  // Denials are events on the app (Marathon's event stream, as every other event).
  await waitFor(async () => eventText.includes('"appId":"/tenant/roleless"') && eventText.includes('"appId":"/tenant/thief"'), {
    what: 'denial events',
    timeoutMs: 10_000,
    intervalMs: 100,
  }).catch(() => undefined);
  assert.match(eventText, /event: sip_credentials_denied\r\ndata: \{[^\n]*"appId":"\/tenant\/roleless"[^\n]*"code":"SIP_AGENT_NO_ROLE"/);
  assert.match(eventText, /"appId":"\/tenant\/thief"[^\n]*"code":"SIP_AGENT_TOKEN_INVALID"/);
});

agent(
  'a DOCKER app in endpoint mode: its container is found through Docker (mesos-<containerId>, MESOS_TASK_ID) and binapp uploads with its role',
  async () => {
    await buildBinappImage();
    const def = JSON.parse(readFileSync(join(ROOT, 'marathon/binapp-docker.json'), 'utf8'));
    def.id = `${APP}/docker`;
    // Endpoint mode: the AWS config named by label, not mounted.
    delete def.secrets;
    delete def.container.volumes;
    def.env.BINAPP_BUCKET = await tf.output('s3_bucket_name');
    def.env.AWS_REGION = info.region;
    delete def.env.AWS_CONFIG_FILE;
    def.labels = {
      ...def.labels,
      'sip.aws.credentials': 'endpoint',
      'sip.aws.config-secret': `${APP.slice(1)}/aws-config`,
      'edgelb.first.frontend.rules': 'hostEq:docker.binapp.example',
    };
    const added = await sip(['marathon', 'app', 'add', '--wait', '--timeout', '120'], JSON.stringify(def));
    assert.is(added.code, 0, added.out + added.err);
    const task = await runningTask(def.id);
    const cid = (await containerOf(task.id))!;
    const inspect = JSON.parse(execFileSync('docker', ['inspect', `mesos-${cid}`], { encoding: 'utf8' }))[0];
    assert.is(inspect.Config.Labels.MESOS_TASK_ID, task.id, "named and labelled as Mesos's Docker containerizer and Marathon do");
    let posted: Ran = { code: 1, out: '', err: '' };
    await waitFor(
      async () =>
        (posted = await runProcess('curl', [
          '-sS',
          '--fail-with-body',
          '--max-time',
          '10',
          '--user',
          'testuser:password',
          '-X',
          'POST',
          '-H',
          'Host: docker.binapp.example',
          '--data-binary',
          'from a DOCKER task in endpoint mode',
          `http://127.0.0.1:${lbPort}/bin`,
        ])).code === 0,
      { what: 'the DOCKER binapp routed', timeoutMs: 60_000, intervalMs: 500 },
    ).catch(() => undefined);
    assert.is(posted.code, 0, posted.out + posted.err + (await taskLog(task.id, true)));
    const id = /^BinID (\S+)$/m.exec(posted.out)![1]!;
    const admin = JSON.parse(readFileSync(join(state, 'aws-admin.json'), 'utf8'));
    const s3 = new S3Client({
      endpoint: info.awsEndpoint,
      region: info.region,
      forcePathStyle: true,
      credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
    });
    const obj = await s3.send(new GetObjectCommand({ Bucket: def.env.BINAPP_BUCKET, Key: `bin/${id}` }));
    assert.is(await obj.Body!.transformToString(), 'from a DOCKER task in endpoint mode');
    s3.destroy();
    assert.match(
      readFileSync(join(state, 'cluster.log'), 'utf8'),
      new RegExp(`"decision":"issue","appId":"${def.id}"`),
      'issued by sip agent, not from a file',
    );
    assert.is((await sip(['marathon', 'app', 'remove', def.id, '--wait'])).code, 0);
  },
);

agent(
  'an endpoint-mode app that would receive an AWS config, under any name, in a file or its environment, is refused at app add; one whose secret becomes one never starts',
  async () => {
    assert.is((await sip(['security', 'secrets', 'create', `${APP.slice(1)}/creds`], awsConfig)).code, 0);
    const asFile = {
      id: `${APP}/leaky-file`,
      cmd: 'exec sleep 600',
      mem: 32,
      cpus: 0.1,
      labels: { 'sip.aws.credentials': 'endpoint', 'sip.aws.config-secret': `${APP.slice(1)}/aws-config` },
      secrets: { s: { source: `${APP.slice(1)}/creds` } },
      container: { type: 'MESOS', volumes: [{ containerPath: 'settings.ini', secret: 's' }] },
    };
    const asEnv = {
      id: `${APP}/leaky-env`,
      cmd: 'exec sleep 600',
      mem: 32,
      cpus: 0.1,
      labels: { 'sip.aws.credentials': 'endpoint' },
      secrets: { s: { source: `${APP.slice(1)}/creds` } },
      env: { SETTINGS: { secret: 's' } },
    };
    for (const [def, what] of [
      [asFile, 'the file settings.ini'],
      [asEnv, '$SETTINGS'],
    ] as const) {
      const r = await sip(['marathon', 'app', 'add'], JSON.stringify(def));
      assert.is(r.code, 3, r.out + r.err);
      assert.match(r.out + r.err, `${what} would hold an AWS config (its external id would reach the task)`);
      assert.not.match(r.out + r.err, externalId);
      assert.is((await sip(['marathon', 'app', 'show', def.id])).code, 5, 'nothing saved');
    }
    // Harmless when added; an AWS config by the time a task starts: that task never starts, with the reason.
    assert.is((await sip(['security', 'secrets', 'create', `${APP.slice(1)}/later`], 'colour=blue\n')).code, 0);
    const later = { ...asFile, id: `${APP}/leaky-later`, secrets: { s: { source: `${APP.slice(1)}/later` } } };
    assert.is((await sip(['marathon', 'app', 'add', '--wait', '--timeout', '60'], JSON.stringify(later))).code, 0);
    assert.is((await sip(['security', 'secrets', 'update', `${APP.slice(1)}/later`], awsConfig)).code, 0);
    const r = await sip(['marathon', 'app', 'restart', later.id, '--wait', '--timeout', '60']);
    assert.is(r.code, 6, r.out + r.err);
    assert.match(r.out + r.err, 'the file settings.ini would hold an AWS config (its external id would reach the task)');
    assert.not.ok(
      readdirSync(join(state, 'sandboxes')).some(
        (t) =>
          t.includes('leaky') &&
          existsSync(join(state, 'sandboxes', t, 'settings.ini')) &&
          readFileSync(join(state, 'sandboxes', t, 'settings.ini'), 'utf8').includes('external_id'),
      ),
      'no AWS config written',
    );
    await sip(['marathon', 'app', 'remove', later.id]);
  },
);

agent('the metadata service is closed to every task (nftables, by uid), not to the node; a file-mode app is refused with the reason', async () => {
  // A task that asks the metadata stand-in for an IMDSv2 token, as the SDK's chain would.
  const asker = {
    id: `${APP}/imds-asker`,
    cmd: `curl -s -o /dev/null -m 3 -w 'imds=%{http_code}\\n' -X PUT -H 'x-aws-ec2-metadata-token-ttl-seconds: 60' "\${AWS_EC2_METADATA_SERVICE_ENDPOINT%/}/latest/api/token"; exec sleep 600`,
    mem: 32,
    cpus: 0.1,
    labels: { 'sip.aws.credentials': 'endpoint', 'sip.aws.config-secret': `${APP.slice(1)}/aws-config` },
  };
  assert.is((await sip(['marathon', 'app', 'add'], JSON.stringify(asker))).code, 0);
  const task = await runningTask(asker.id);
  const out = await waitForLog(task.id, /^imds=\d+$/m, 'the task asked');
  assert.match(out, /^imds=000$/m, 'the connection is refused for the task');
  // The node (root: the cluster, sip agent) still reaches it.
  const imds = new URL(info.imdsEndpoint ?? JSON.parse(readFileSync(join(state, 'cluster.json'), 'utf8')).imdsEndpoint);
  const root = await runProcess('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-m',
    '3',
    '-w',
    '%{http_code}',
    '-X',
    'PUT',
    '-H',
    'x-aws-ec2-metadata-token-ttl-seconds: 60',
    `${imds.origin}/latest/api/token`,
  ]);
  assert.is(root.out, '200');
  const table = (await runProcess('nft', ['list', 'table', 'inet', `sip_${clusterLabel}`])).out;
  assert.match(table, `ip daddr 127.0.0.1 tcp dport ${imds.port} meta skuid 2000000-2999999`);
  await sip(['marathon', 'app', 'remove', asker.id]);
  // File mode needs the node's role from the metadata service: refused before it starts, with the reason.
  const fileApp = {
    id: `${APP}/file-mode`,
    cmd: 'exec sleep 600',
    mem: 32,
    cpus: 0.1,
    labels: { 'sip.aws.credentials': 'file' },
    secrets: { s: { source: `${APP.slice(1)}/aws-config` } },
    container: { type: 'MESOS', volumes: [{ containerPath: 'aws-config', secret: 's' }] },
  };
  const r = await sip(['marathon', 'app', 'add', '--wait', '--timeout', '60'], JSON.stringify(fileApp));
  assert.is(r.code, 6, r.out + r.err);
  assert.match(r.out + r.err, 'sip.aws.credentials=file cannot work on this cluster: sip agent closes the metadata service to tasks');
  assert.not.match(r.out + r.err, externalId);
  await sip(['marathon', 'app', 'remove', fileApp.id]);
});

agent('an app outside the secret’s path is denied with the reason before it starts, as in file mode', async () => {
  const outsider = {
    id: '/other-app',
    cmd: 'exec sleep 600',
    mem: 64,
    cpus: 0.1,
    labels: { 'sip.aws.credentials': 'endpoint', 'sip.aws.config-secret': `${APP.slice(1)}/aws-config` },
  };
  const r = await sip(['marathon', 'app', 'add', '--wait', '--timeout', '60'], JSON.stringify(outsider));
  assert.is(r.code, 6, r.out + r.err);
  assert.match(r.out + r.err, "denied: app /other-app is not under the secret's namespace /instance-profile-app");
  await sip(['marathon', 'app', 'remove', '/other-app']);
});

agent('a killed task’s credentials are dropped; STS down: cached credentials still served, a new session gets 503 with a JSON reason', async () => {
  const probe = {
    id: `${APP}/probe`,
    cmd: `while true; do curl -s -o /dev/null -w '%{http_code}\\n' -H "Authorization: $(cat "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"; sleep 0.3; done`,
    mem: 64,
    cpus: 0.1,
    labels: { 'sip.aws.credentials': 'endpoint', 'sip.aws.config-secret': `${APP.slice(1)}/aws-config` },
  };
  assert.is((await sip(['marathon', 'app', 'add'], JSON.stringify(probe))).code, 0);
  const task = await runningTask(probe.id);
  await waitForLog(task.id, /^200$/m, 'the probe served');
  const audit = (): string => readFileSync(join(state, 'cluster.log'), 'utf8');
  // STS (the emulator) gone: the probe keeps getting its cached credentials; a new task gets 503 with the reason.
  const emulator = JSON.parse(readFileSync(join(state, 'processes.json'), 'utf8')).processes.find((p: { what: string }) => p.what === 'aws emulator');
  process.kill(-emulator.pid, 'SIGSTOP');
  try {
    const before = (await taskLog(task.id)).split('\n').length;
    await new Promise((r) => setTimeout(r, 1500));
    const after = (await taskLog(task.id))
      .split('\n')
      .slice(before - 1)
      .filter(Boolean);
    assert.ok(after.length > 0 && after.every((l) => l === '200'), `cached credentials served while STS is down: ${after.join(',')}`);
    const fresh = {
      ...probe,
      id: `${APP}/fresh`,
      cmd: `${AWAIT_TOKEN}curl -s --max-time 30 -H "Authorization: $(cat "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"; echo; exec sleep 600`,
    };
    assert.is((await sip(['marathon', 'app', 'add'], JSON.stringify(fresh))).code, 0);
    const t = await runningTask(fresh.id);
    const out = await waitForLog(t.id, /"Code"/, 'the fresh task got an answer');
    assert.match(out, '"Code":"SIP_AGENT_STS_UNAVAILABLE"', out + (await taskLog(t.id, true)));
  } finally {
    process.kill(-emulator.pid, 'SIGCONT');
  }
  // Killed: the agent drops the task's credentials (its audit says so) and nothing of the task is left to ask.
  assert.is((await sip(['marathon', 'task', 'kill', task.id, '--scale'])).code, 0);
  await waitFor(async () => audit().includes(`"decision":"forget","taskId":"${task.id}"`), {
    what: 'the agent dropped the killed task',
    timeoutMs: 20_000,
    intervalMs: 200,
  });
  assert.equal(await containerOf(task.id), undefined, 'its container is gone');
});

/** The Mesos container of a live task, as the local agent's operator API lists it. */
async function containerOf(taskId: string): Promise<string | undefined> {
  const token = readFileSync(join(state, 'acs-token'), 'utf8').trim();
  const res = await fetch(`${info.mesosAgentUrl}/api/v1`, {
    method: 'POST',
    headers: { authorization: `token=${token}`, 'content-type': 'application/json' },
    body: '{"type":"GET_CONTAINERS"}',
  });
  const list = ((await res.json()) as any).get_containers.containers as Array<{ executor_id: { value: string }; container_id: { value: string } }>;
  return list.find((c) => c.executor_id.value === taskId)?.container_id.value;
}

agent.run();
