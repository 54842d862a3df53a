import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { startBinapp, type BinappProcess } from '../fixtures/binappProcess.js';
import { readInstanceProfileCredentials } from '../fixtures/imds.js';
import { startStack, type Stack } from '../fixtures/stack.js';
import { createSteps } from './steps.js';

// npm run demo [-- --keep]
// The spine of the walk-through on one machine: AWS emulator with IAM
// enforcement → terraform apply → binapp with the rendered secret → POST /bin
// → the object read back from the bucket; then the refusal of a wrong
// external id. Everything is torn down at the end (terraform destroy
// included) unless --keep, which leaves it running until Ctrl-C.

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const keep = process.argv.includes('--keep');
const steps = createSteps();
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
let stack: Stack | undefined;
let app: BinappProcess | undefined;

async function teardown(): Promise<void> {
  await app?.stop();
  if (stack) {
    const s = stack;
    stack = undefined;
    await steps.run('tear down: terraform destroy, stop the emulator', () => s.stop());
  }
}

async function demo(): Promise<void> {
  stack = await steps.run('start the AWS emulator (moto, IAM enforcement on) and terraform apply', () =>
    startStack({ onLine: (line) => /(Creation complete|Apply complete)/.test(line) && steps.say(`terraform | ${line}`) }),
  );
  const s = stack;
  steps.say(`emulator          ${s.emulator.endpoint}`);
  steps.say(`metadata endpoint ${s.imds.endpoint} (agent role ${s.agentRoleArn})`);
  steps.say(`bucket            ${s.bucket}`);
  steps.say(`app role          ${s.appRoleArn} (trusts the agent role only with the external id)`);

  const configFile = await steps.run('store terraform output secret_aws_conf as the app’s AWS config (mode 0400)', async () => {
    const path = await s.writeConfig('aws-config', s.awsConfig);
    steps.say(`${path}: role_arn, external_id = <hidden>, credential_source = Ec2InstanceMetadata`);
    return path;
  });

  app = await steps.run('start binapp with AWS_CONFIG_FILE only (no keys anywhere)', () =>
    startBinapp({ env: { ...s.awsEnv(configFile), BINAPP_BUCKET: s.bucket, BINAPP_USER: 'testuser', BINAPP_PASS: 'password' } }),
  );
  const url = app.url;
  steps.say(`binapp ${url}`);

  await steps.run(`curl ${url}/ping`, async () => {
    const res = await fetch(`${url}/ping`);
    const text = (await res.text()).trim();
    steps.say(`HTTP ${res.status} ${text}`);
    if (res.status !== 200) throw new Error(`binapp cannot reach the bucket: ${text}`);
  });

  const payload = Buffer.concat([Buffer.from('hello from the secure-instance-profiles demo\n'), randomBytes(64 * 1024)]);
  const file = join(s.workDir, 'payload.bin');
  await writeFile(file, payload);
  const id = await steps.run(`curl --user testuser:password -X POST --data-binary @payload.bin ${url}/bin`, async () => {
    const curl = spawnSync('curl', ['-sS', '--fail-with-body', '--user', 'testuser:password', '-X', 'POST', '--data-binary', `@${file}`, `${url}/bin`], { encoding: 'utf8' });
    if (curl.error) throw new Error('curl is not installed (apt-get install -y curl)');
    if (curl.status !== 0) throw new Error(`curl failed: ${curl.stderr || curl.stdout}`);
    steps.say(curl.stdout.trim());
    const bin = /^BinID (\S+)$/m.exec(curl.stdout)?.[1];
    if (!bin) throw new Error(`unexpected answer: ${curl.stdout}`);
    return bin;
  });

  await steps.run(`read s3://${s.bucket}/bin/${id} back with an admin client`, async () => {
    const obj = await s.adminS3.send(new GetObjectCommand({ Bucket: s.bucket, Key: `bin/${id}` }));
    const stored = Buffer.from(await obj.Body!.transformToByteArray());
    steps.say(`sent   ${payload.length} bytes sha256 ${sha(payload)}`);
    steps.say(`stored ${stored.length} bytes sha256 ${sha(stored)}`);
    if (!stored.equals(payload)) throw new Error('the stored object differs from what was sent');
    steps.say('identical ✓');
  });

  await steps.run('refusal: the agent’s own credentials with a wrong external id', async () => {
    const agent = await readInstanceProfileCredentials(s.imds.endpoint);
    const sts = new STSClient({ endpoint: s.emulator.endpoint, region: s.emulator.region, credentials: agent, maxAttempts: 1 });
    const outcome = await sts
      .send(new AssumeRoleCommand({ RoleArn: s.appRoleArn, RoleSessionName: 'demo', ExternalId: 'wrong-external-id' }))
      .then(() => 'allowed', (e: Error) => e.name);
    sts.destroy();
    steps.say(`sts:AssumeRole → ${outcome}`);
    if (outcome !== 'AccessDenied') throw new Error(`expected AccessDenied, got ${outcome}`);
  });

  if (keep) {
    steps.say('');
    steps.say(`running; try: curl --user testuser:password --data-binary @/etc/hostname ${url}/bin`);
    steps.say('Ctrl-C tears everything down');
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  }
}

let code = 0;
try {
  await demo();
  process.stdout.write('\ndemo complete\n');
} catch (err) {
  code = 1;
  if (!(err as { reported?: boolean }).reported) process.stdout.write(`\ndemo failed: ${(err as Error).message}\n`);
} finally {
  await teardown().catch((err: Error) => {
    code = 1;
    process.stdout.write(`teardown failed: ${err.message}\n`);
  });
}
process.exit(code);
