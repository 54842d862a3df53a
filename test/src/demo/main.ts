import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { awsAgentEnv } from '@secure-instance-profiles/framework-plugin/local';
import { createTerraform, type Terraform } from '@secure-instance-profiles/framework-plugin/local/terraform';
import { runProcess, type Ran } from '../fixtures/process.js';
import { reportFailure } from '../script/failure.js';
import { holdRunLock } from '../script/runLock.js';
import { createSteps } from './steps.js';

// npm run demo            the walk-through on one machine, as a DC/OS user types it
// npm run demo -- --down  tear it all down (terraform destroy included)
//
// Each step prints the command it runs. Re-running is idempotent: a running
// cluster is reused, terraform converges, the secret and the app are updated.
// A failing step says which and why and leaves everything up for inspection.

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SIP = join(ROOT, 'framework-plugin/bin/sip.mjs');
const PROBE = join(ROOT, 'test/src/demo/awsProbe.ts');
const stateDir = process.env.SIP_STATE_DIR ?? join(ROOT, '.state');
const lbPort = process.env.SIP_LB_PORT;
const APP_ID = '/instance-profile-app';
const SECRET = '/instance-profile-app/aws-config';
const HOST = 'binapp.mesosphere.com';
const down = process.argv.includes('--down');
// --credentials endpoint: binapp from marathon/binapp-endpoint.json, credentials from sip agent (the external id never in the task),
// on two agents, decided by two sip server replicas (the only holders of the app role's trust and of the AWS configs).
const credArg = process.argv.indexOf('--credentials');
const credentials = credArg >= 0 ? process.argv[credArg + 1] : 'file';
if (credentials !== 'file' && credentials !== 'endpoint') {
  process.stderr.write('usage: npm run demo [-- --credentials file|endpoint] [-- --down]\n');
  process.exit(2);
}
/** The root module; SIP_TERRAFORM_DIR points the demo at a copy (the end-to-end test does). */
const TF_DIR = process.env.SIP_TERRAFORM_DIR ?? join(ROOT, 'terraform');
const TF_VARS = 'local-cluster.auto.tfvars.json';
const steps = createSteps();
const show = (p: string): string => (p.startsWith(process.cwd()) ? relative(process.cwd(), p) || '.' : p);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex').slice(0, 16);

/** Runs a real command; its output is echoed (indented) unless `quiet`, which is for secret-carrying output. */
function run(cmd: string, args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; quiet?: boolean } = {}): Promise<Ran> {
  return runProcess(cmd, args, {
    env: { ...process.env, SIP_STATE_DIR: stateDir, ...opts.env },
    ...(opts.input === undefined ? {} : { input: opts.input }),
    ...(opts.quiet
      ? {}
      : {
          onOutput: (d: Buffer) =>
            d
              .toString('utf8')
              .split('\n')
              .forEach((line) => line.trim() && steps.say(`| ${line}`)),
        }),
  });
}
const sip = (args: string[], opts: { input?: string; quiet?: boolean } = {}): Promise<Ran> => run(process.execPath, [SIP, ...args], opts);
const must = (r: Ran, what: string): Ran => {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}`);
  return r;
};

interface ClusterInfo {
  marathonUrl: string;
  edgelbUrl: string;
  awsEndpoint: string;
  imdsEndpoint: string;
  agentRoleArn: string;
  region: string;
  emulator: string;
  enforcesIam: boolean;
  /** With sip server: its role (the one the app role trusts) and replicas. */
  serverRoleArn?: string;
  servers?: Array<{ url: string }>;
}
const clusterInfo = async (): Promise<ClusterInfo | undefined> =>
  JSON.parse(await readFile(join(stateDir, 'cluster.json'), 'utf8').catch(() => 'null')) ?? undefined;
const admin = async (): Promise<{ endpoint: string; region: string; accessKeyId: string; secretAccessKey: string }> =>
  JSON.parse(await readFile(join(stateDir, 'aws-admin.json'), 'utf8'));

/**
 * Terraform in place: state, plugins and the local cluster's variables live in
 * `terraform/` where plain `terraform -chdir=terraform …` finds them, and each
 * command is printed exactly as it runs (`$ …`), so any of them can be copied.
 */
function terraform(): Terraform {
  return createTerraform({
    configDir: TF_DIR,
    varsFileName: TF_VARS,
    onCommand: (line) => steps.say(`$ ${line}`),
    onLine: (line) => /(Creation complete|Destruction complete|Apply complete|Destroy complete|No changes)/.test(line) && steps.say(`| ${line}`),
  });
}
/** The local cluster's variables, emulator admin keys included (the file is 0600 and git-ignored). */
const tfVars = async (info: ClusterInfo): Promise<Record<string, unknown>> => {
  const a = await admin();
  return {
    aws_endpoint: info.awsEndpoint,
    region: info.region,
    agent_role_arn: info.agentRoleArn,
    // Endpoint mode on a cluster with sip server: the app role trusts the servers' role only.
    ...(credentials === 'endpoint' && info.serverRoleArn ? { server_role_arn: info.serverRoleArn } : {}),
    public_agents_loadbalancer: new URL(info.edgelbUrl).host,
    ...(credentials === 'endpoint' ? { app_definition_file: join(TF_DIR, '..', 'marathon', 'binapp-endpoint.json') } : {}),
    aws_access_key: a.accessKeyId,
    aws_secret_key: a.secretAccessKey,
  };
};
/** State an earlier version of the demo kept under the state dir moves to where Terraform looks. */
async function adoptOldState(): Promise<void> {
  const old = join(stateDir, 'terraform', 'terraform.tfstate');
  const now = join(TF_DIR, 'terraform.tfstate');
  if (existsSync(old) && !existsSync(now)) {
    await rename(old, now);
    steps.say(`moved ${show(old)} to ${show(now)}`);
  }
}

/** `GET/POST` through EdgeLB with the Host header (Node's fetch would drop it). */
function viaLb(url: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${url}${path}`, { headers: { Host: HOST }, agent: false, timeout: 3000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', () => resolve(0));
    req.once('timeout', () => req.destroy());
    req.end();
  });
}

async function walkThrough(): Promise<void> {
  // Endpoint mode: two agents and two sip server replicas (SIP_AGENTS, SIP_SERVERS say otherwise).
  const topology =
    credentials === 'endpoint' ? ['--agents', process.env.SIP_AGENTS ?? '2', '--servers', process.env.SIP_SERVERS ?? '2', '--aws-credentials', 'endpoint'] : [];
  const up = ['cluster', 'up', ...topology, ...(lbPort ? ['--lb-port', lbPort] : [])];
  await steps.run(`npx sip ${up.join(' ')}`, async () => must(await sip(up), 'sip cluster up'));
  const info = (await clusterInfo())!;
  const viaServer = credentials === 'endpoint' && info.serverRoleArn !== undefined;
  if (credentials === 'endpoint' && !viaServer)
    steps.say('this cluster was started without sip server (npx sip cluster down, then again, to have it): each sip agent decides');

  const tf = terraform();
  const tfLine = (args: string[]): string => tf.commandLine(args);
  await steps.run(tfLine(['apply', '-auto-approve', '-input=false']), async () => {
    await adoptOldState();
    await writeFile(tf.varsFile, `${JSON.stringify(await tfVars(info), null, 2)}\n`, { mode: 0o600 });
    steps.say(
      `wrote ${show(tf.varsFile)} (auto-loaded by terraform; git-ignored, 0600): aws_endpoint = ${info.awsEndpoint}, agent_role_arn = ${info.agentRoleArn} (the cluster's agents)${viaServer ? `, server_role_arn = ${info.serverRoleArn} (sip server's: the only role the app role trusts)` : ''}, the emulator's admin keys`,
    );
    await tf.init();
    await tf.apply();
  });
  const bucket = await tf.output('s3_bucket_name');
  const appRole = await tf.output('app_role_arn');
  steps.say(`bucket ${bucket}, app role ${appRole}`);

  await steps.run(`${tfLine(['output', '-raw', 'secret_aws_conf'])} | npx sip security secrets create ${SECRET}`, async () => {
    const conf = await tf.output('secret_aws_conf');
    const created = await sip(['security', 'secrets', 'create', SECRET], { input: conf });
    if (created.code === 0) return;
    steps.say('exists from an earlier run → npx sip security secrets update (same value, or the new one)');
    must(await sip(['security', 'secrets', 'update', SECRET], { input: conf }), 'sip security secrets update');
  });

  await steps.run(`${tfLine(['output', '-raw', 'marathon_app_definition'])} | npx sip marathon app add --wait`, async () => {
    const def = await tf.output('marathon_app_definition');
    const added = await sip(['marathon', 'app', 'add', '--wait'], { input: def });
    if (added.code === 4) {
      steps.say(`${APP_ID} exists from an earlier run → npx sip marathon app update ${APP_ID} --wait (fresh tasks read the current secret)`);
      must(await sip(['marathon', 'app', 'update', APP_ID, '-', '--wait'], { input: def }), 'sip marathon app update');
    } else must(added, 'sip marathon app add');
    if (credentials === 'endpoint')
      steps.say(
        viaServer
          ? `endpoint mode (sip.aws.credentials=endpoint): the task got AWS_CONTAINER_CREDENTIALS_FULL_URI and a token, no aws-config; its agent's sip agent asks sip server (${info.servers!.map((x) => x.url).join(', ')}), which checks with the master and Marathon that the task runs there and assumes the role`
          : 'endpoint mode (sip.aws.credentials=endpoint): the task got AWS_CONTAINER_CREDENTIALS_FULL_URI and a token, no aws-config; sip agent assumes the role for it',
      );
  });

  await steps.run(`wait until EdgeLB routes Host: ${HOST} (curl -H "Host: ${HOST}" ${info.edgelbUrl}/ping)`, async () => {
    const until = Date.now() + 60_000;
    let status = 0;
    let waited = 0;
    while ((status = await viaLb(info.edgelbUrl, '/ping')) !== 200) {
      if (Date.now() > until)
        throw new Error(`EdgeLB still answers ${status || 'nothing'} for ${HOST}/ping after 60 s (see: npx sip edgelb status auto-default)`);
      if (++waited % 10 === 0) steps.say(`… HTTP ${status || '-'} after ${waited / 2} s`);
      await new Promise((r) => setTimeout(r, 500));
    }
    steps.say('HTTP 200: binapp is behind EdgeLB and can reach its bucket');
  });

  const payload = Buffer.concat([Buffer.from(`hello from the secure-instance-profiles demo, ${new Date().toISOString()}\n`), randomBytes(32 * 1024)]);
  const id = await steps.run(`curl --user testuser:password -X POST -H "Host: ${HOST}" --data-binary @- ${info.edgelbUrl}/bin`, async () => {
    const curl = must(
      await run(
        'curl',
        ['-sS', '--fail-with-body', '--user', 'testuser:password', '-X', 'POST', '-H', `Host: ${HOST}`, '--data-binary', '@-', `${info.edgelbUrl}/bin`],
        { input: payload },
      ),
      'curl',
    );
    const bin = /^BinID (\S+)$/m.exec(curl.out)?.[1];
    if (!bin) throw new Error(`unexpected answer: ${curl.out}`);
    return bin;
  });

  await steps.run(`read s3://${bucket}/bin/${id} back from the bucket (emulator admin)`, async () => {
    const a = await admin();
    const s3 = new S3Client({
      endpoint: a.endpoint,
      region: a.region,
      forcePathStyle: true,
      credentials: { accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey },
    });
    const stored = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `bin/${id}` }))).Body!.transformToByteArray());
    s3.destroy();
    steps.say(`sent   ${payload.length} bytes, sha256 ${sha(payload)}…`);
    steps.say(`stored ${stored.length} bytes, sha256 ${sha(stored)}…`);
    if (!stored.equals(payload)) throw new Error('the stored object differs from what was sent');
    steps.say('identical ✓');
  });

  await steps.run(`refusal 1: an app /other-app asking for ${SECRET} (npx sip marathon app add --wait)`, async () => {
    const other = JSON.parse(await tf.output('marathon_app_definition')) as Record<string, unknown>;
    other.id = '/other-app';
    // Off EdgeLB; in endpoint mode it keeps the labels naming the secret (the file mode's app names it under "secrets").
    const labels = Object.entries((other.labels ?? {}) as Record<string, string>).filter(([k]) => k.startsWith('sip.aws.'));
    if (labels.length > 0) other.labels = Object.fromEntries(labels);
    else delete other.labels;
    await sip(['marathon', 'app', 'remove', '/other-app', '--wait'], { quiet: true }); // left by an interrupted run
    const r = await sip(['marathon', 'app', 'add', '--wait', '--timeout', '60'], { input: JSON.stringify(other) });
    await sip(['marathon', 'app', 'remove', '/other-app'], { quiet: true });
    if (r.code !== 6 || !/denied/.test(r.out + r.err)) throw new Error(`expected the deployment to fail with the secret denied, got exit ${r.code}`);
    steps.say('never started: the secret is only for apps under /instance-profile-app (exit 6)');
  });

  if (viaServer) await refuseAgentProfile(tf, info);
  else await refuseWrongExternalId(tf, info);

  const tfDir = show(TF_DIR);
  process.stdout.write(`
demo complete. Still running; every line below can be typed as is:
  echo foobar | curl --user testuser:password -X POST -H 'Host: ${HOST}' -d @- $(terraform -chdir=${tfDir} output -raw public-agents-loadbalancer)/bin
  eval "$(npx sip cluster env)"      # the AWS CLI, SDKs and terraform now talk to the local emulator
  aws s3 cp s3://$(terraform -chdir=${tfDir} output -raw s3_bucket_name)/bin/${id} -
  npx sip marathon app show ${APP_ID} | jq .tasksHealthy
  npx sip marathon app list          npx sip edgelb status auto-default
  npm run demo -- --down             (terraform destroy, secrets, cluster, state)
`);
}

/** `awsProbe whoami` on an agent: the SDK's default chain with this AWS config over the agent's instance profile. */
const whoamiOnAgent = (info: ClusterInfo, configFile: string): Promise<Ran> =>
  run(process.execPath, ['--import', 'tsx', PROBE, 'whoami'], { env: { ...awsAgentEnv(info), AWS_REGION: info.region, AWS_CONFIG_FILE: configFile } });

/** Refusal 2 (the agents decide): the app's AWS config with a wrong external id, on an agent. */
async function refuseWrongExternalId(tf: Terraform, info: ClusterInfo): Promise<void> {
  await steps.run('refusal 2: the app’s AWS config with a wrong external id (a process on the agent, SDK default chain)', async () => {
    if (!info.enforcesIam) {
      steps.say(`NOT SHOWN: ${info.emulator}; STS there cannot refuse a wrong external id`);
      return;
    }
    const conf = await tf.output('secret_aws_conf');
    const wrong = conf.replace(/^(\s*external_id\s*=\s*).*$/m, '$1not-the-pre-shared-id');
    if (wrong === conf) throw new Error('secret_aws_conf has no external_id line');
    const file = join(stateDir, 'wrong-external-id.aws-config');
    try {
      await writeFile(file, wrong, { mode: 0o600 });
      steps.say('with the real config:');
      const right = join(stateDir, 'right-external-id.aws-config');
      await writeFile(right, conf, { mode: 0o600 });
      const ok = await whoamiOnAgent(info, right).finally(() => rm(right, { force: true }));
      if (ok.code !== 0) throw new Error('the real config should assume the app role');
      steps.say('with external_id replaced:');
      const bad = await whoamiOnAgent(info, file);
      if (bad.code !== 3 || !/AccessDenied/.test(bad.out)) throw new Error(`expected AccessDenied from STS, got exit ${bad.code}`);
    } finally {
      await rm(file, { force: true });
    }
  });
}

/** Refusal 2 (sip server decides): the app's real AWS config, used with an agent's own instance profile, as root on the agent would. */
async function refuseAgentProfile(tf: Terraform, info: ClusterInfo): Promise<void> {
  await steps.run('refusal 2: the app’s real AWS config with an agent’s own instance profile, as root on the agent (SDK default chain)', async () => {
    if (!info.enforcesIam) {
      steps.say(`NOT SHOWN: ${info.emulator}; STS there cannot refuse a role's trust`);
      return;
    }
    const right = join(stateDir, 'agent-profile.aws-config');
    try {
      await writeFile(right, await tf.output('secret_aws_conf'), { mode: 0o600 });
      const ran = await whoamiOnAgent(info, right);
      if (ran.code !== 3 || !/AccessDenied/.test(ran.out)) throw new Error(`expected AccessDenied from STS, got exit ${ran.code}`);
      steps.say('denied: the app role trusts only sip server’s role; the external id alone does not open it');
    } finally {
      await rm(right, { force: true });
    }
  });
}

async function tearDown(): Promise<void> {
  const info = await clusterInfo();
  await adoptOldState();
  const tf = terraform();
  const tfState = join(TF_DIR, 'terraform.tfstate');
  if (info) {
    await steps.run(`npx sip marathon app remove ${APP_ID}`, async () => {
      const r = await sip(['marathon', 'app', 'remove', APP_ID, '--wait']);
      if (r.code !== 0 && r.code !== 5) throw new Error(`sip marathon app remove exited ${r.code}`);
    });
  }
  if (info && existsSync(tfState)) {
    await steps.run(tf.commandLine(['destroy', '-auto-approve', '-input=false']), async () => {
      await writeFile(tf.varsFile, `${JSON.stringify(await tfVars(info), null, 2)}\n`, { mode: 0o600 });
      await tf.init();
      await tf.destroy();
    });
  } else if (existsSync(tfState)) steps.say('the cluster is not running: its emulator (and every AWS resource in it) is already gone');
  await steps.run(`npx sip security secrets delete ${SECRET}`, async () => {
    const r = await sip(['security', 'secrets', 'delete', SECRET]);
    if (r.code !== 0) steps.say('(no such secret)');
  });
  await steps.run('npx sip cluster down', async () => must(await sip(['cluster', 'down']), 'sip cluster down'));
  await steps.run(`rm -rf ${show(stateDir)} ${show(tf.varsFile)}`, async () => {
    await rm(stateDir, { recursive: true, force: true });
    await rm(tf.varsFile, { force: true }); // its endpoint and keys die with the cluster
  });
  process.stdout.write('\nall torn down\n');
}

try {
  // One demo at a time per Terraform directory: its state and variables are in place, shared by nature.
  holdRunLock(join(TF_DIR, '.terraform', 'sip-demo.lock'), `npm run demo on ${show(TF_DIR)}`);
} catch (err) {
  process.stderr.write(`npm run demo: ${(err as Error).message}\n`);
  process.exit(1);
}
try {
  await (down ? tearDown() : walkThrough());
  process.exit(0);
} catch (err) {
  const code = reportFailure(
    `npm run demo${down ? ' -- --down' : ''}`,
    err,
    existsSync(stateDir) ? join(stateDir, 'demo.log') : join(tmpdir(), 'sip-demo.log'),
    process.stdout,
  );
  process.stdout.write(`
Everything is left running for inspection:
  npx sip cluster status             npx sip marathon app show ${APP_ID}
  npx sip marathon task list         npx sip marathon task log <task-id> --stderr
  npx sip edgelb status auto-default cat ${show(join(stateDir, 'cluster.log'))}
  npm run demo -- --down             to tear it all down
`);
  process.exit(code);
}
