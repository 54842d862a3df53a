import { spawn } from 'node:child_process';
import { CreateRoleCommand, IAMClient, ListUsersCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  agentRoleCredentials,
  emulatorConfig,
  startEmulator,
  type AwsCredentials,
  type Emulator,
  type ImdsServer,
} from '@secure-instance-profiles/framework-plugin/local/emulator';
import { createLogger } from '@secure-instance-profiles/framework-plugin/log';
import { readInstanceProfileCredentials } from '../src/fixtures/imds.js';

// The emulator must behave like AWS for this project's flow: enforcement on,
// role trust by role ARN matching that role's sessions, and the external id
// required. Each AWS behaviour is shown here against the running emulator.

const EXTERNAL_ID = 'Ext-0123456789abcdef';
const ctx = {} as { em: Emulator; imds: ImdsServer; agentRoleArn: string; appRoleArn: string; agent: AwsCredentials };

const sts = (credentials: AwsCredentials): STSClient => new STSClient({ endpoint: ctx.em.endpoint, region: ctx.em.region, credentials, maxAttempts: 1 });

async function assumeApp(externalId: string | undefined): Promise<string> {
  try {
    const out = await sts(ctx.agent).send(
      new AssumeRoleCommand({ RoleArn: ctx.appRoleArn, RoleSessionName: 'test', ...(externalId === undefined ? {} : { ExternalId: externalId }) }),
    );
    return out.AssumedRoleUser?.Arn ?? 'allowed';
  } catch (err) {
    return (err as Error).name;
  }
}

const emu = suite('emulator');
// This suite checks the moto harness itself (its fixes, its enforcement switch);
// with another emulator configured it is skipped, and says so.
const kind = emulatorConfig(process.env).kind;
if (kind !== 'moto') process.stdout.write(`emulator harness suite skipped: SIP_EMULATOR=${kind} (it checks the moto harness only)\n`);
const check = kind === 'moto' ? emu : emu.skip;

emu.before(async () => {
  if (kind !== 'moto') return;
  ctx.em = await startEmulator({ logger: createLogger({ name: 'test', level: 'warn' }) });
  const iam = new IAMClient({ endpoint: ctx.em.endpoint, region: ctx.em.region, credentials: ctx.em.admin.credentials });
  const agent = await iam.send(
    new CreateRoleCommand({
      RoleName: 'test-agent',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com', AWS: ctx.em.ec2Service.arn }, Action: 'sts:AssumeRole' }],
      }),
    }),
  );
  ctx.agentRoleArn = agent.Role?.Arn ?? '';
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: 'test-agent',
      PolicyName: 'assume',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] }),
    }),
  );
  const app = await iam.send(
    new CreateRoleCommand({
      RoleName: 'test-app',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: ctx.agentRoleArn },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'sts:ExternalId': EXTERNAL_ID } },
          },
        ],
      }),
    }),
  );
  ctx.appRoleArn = app.Role?.Arn ?? '';
  iam.destroy();
  ctx.imds = await ctx.em.startInstanceMetadata({ agentRoleArn: ctx.agentRoleArn });
  ctx.agent = await readInstanceProfileCredentials(ctx.imds.endpoint);
});

emu.after(async () => {
  await ctx.em?.stop();
});

check('IAM enforcement is on: an unknown access key is rejected', async () => {
  const iam = new IAMClient({
    endpoint: ctx.em.endpoint,
    region: ctx.em.region,
    credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  const err = await iam.send(new ListUsersCommand({})).catch((e: Error) => e);
  assert.instance(err, Error);
  assert.is((err as Error).name, 'InvalidClientTokenId');
});

check('IAM enforcement is on: the EC2 stand-in may assume roles but do nothing else', async () => {
  const iam = new IAMClient({ endpoint: ctx.em.endpoint, region: ctx.em.region, credentials: ctx.em.ec2Service.credentials, maxAttempts: 1 });
  const err = await iam.send(new ListUsersCommand({})).catch((e: Error) => e);
  assert.is((err as Error).name, 'AccessDenied');
});

check('the metadata endpoint serves a session of the agent role', async () => {
  assert.match(ctx.agent.accessKeyId, /^ASIA/);
  assert.ok(ctx.agent.sessionToken);
  assert.ok((ctx.agent.expiration?.getTime() ?? 0) > Date.now());
});

check('AWS behaviour: a role-ARN principal matches that role’s sessions (right external id is allowed)', async () => {
  assert.match(await assumeApp(EXTERNAL_ID), /^arn:aws:sts::\d{12}:assumed-role\/test-app\/test$/);
});

check('AWS behaviour: a wrong external id is denied', async () => {
  assert.is(await assumeApp('Ext-wrong-value'), 'AccessDenied');
});

check('AWS behaviour: a missing external id is denied', async () => {
  assert.is(await assumeApp(undefined), 'AccessDenied');
});

check('AWS behaviour: a principal not named in the trust policy is denied even with the id', async () => {
  const err = await sts(ctx.em.ec2Service.credentials)
    .send(new AssumeRoleCommand({ RoleArn: ctx.appRoleArn, RoleSessionName: 'x', ExternalId: EXTERNAL_ID }))
    .catch((e: Error) => e);
  assert.is((err as Error).name, 'AccessDenied');
});

check('IMDSv2 rules: token required, TTL bounded, X-Forwarded-For refused, other roles unknown', async () => {
  const base = ctx.imds.endpoint;
  const creds = `${base}/latest/meta-data/iam/security-credentials/`;
  assert.is((await fetch(creds)).status, 401);
  assert.is((await fetch(`${base}/latest/api/token`, { method: 'PUT' })).status, 400);
  assert.is((await fetch(`${base}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '21601' } })).status, 400);
  const xff = await fetch(`${base}/latest/api/token`, {
    method: 'PUT',
    headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60', 'x-forwarded-for': '10.0.0.1' },
  });
  assert.is(xff.status, 403);
  const token = await (await fetch(`${base}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } })).text();
  assert.is((await fetch(creds, { headers: { 'x-aws-ec2-metadata-token': 'forged' } })).status, 401);
  assert.is(await (await fetch(creds, { headers: { 'x-aws-ec2-metadata-token': token } })).text(), 'test-agent');
  assert.is((await fetch(`${creds}other-role`, { headers: { 'x-aws-ec2-metadata-token': token } })).status, 404);
});

check('agent credentials are cached, then refreshed before they expire', async () => {
  let now = Date.now();
  const source = agentRoleCredentials({
    endpoint: ctx.em.endpoint,
    region: ctx.em.region,
    roleArn: ctx.agentRoleArn,
    sourceCredentials: ctx.em.ec2Service.credentials,
    durationSeconds: 900,
    now: () => now,
  });
  const [a, a2] = await Promise.all([source(), source()]);
  assert.is(a.accessKeyId, a2?.accessKeyId, 'concurrent callers share one session');
  assert.is((await source()).accessKeyId, a.accessKeyId, 'cached while fresh');
  now = (a.expiration?.getTime() ?? 0) - 4 * 60_000; // inside the 5-minute refresh margin
  const b = await source();
  assert.is.not(b.accessKeyId, a.accessKeyId);
  assert.ok((b.expiration?.getTime() ?? 0) > (a.expiration?.getTime() ?? 0));
});

emu('the admin API answers only the cluster: no data dump, no switching IAM enforcement off for anyone else', async () => {
  const dump = await fetch(`${ctx.em.endpoint}/moto-api/data.json`);
  assert.is(dump.status, 403);
  const text = await dump.text();
  assert.not.match(text, 'sts:ExternalId', 'trust policies were shown');
  for (const path of ['/moto-api/reset-auth', '/moto-api/reset']) {
    const res = await fetch(`${ctx.em.endpoint}${path}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '0' });
    assert.is(res.status, 403, path);
  }
  // Enforcement is still on: a made-up key is refused.
  const err = await sts({ accessKeyId: 'AKIAFAKEFAKEFAKEFAKE', secretAccessKey: 'x'.repeat(40) })
    .send(new GetCallerIdentityCommand({}))
    .then(
      () => undefined,
      (e: Error) => e,
    );
  assert.ok(err, 'an unknown key was accepted: enforcement was switched off');
});

emu.run();

// Stock moto, for contrast: both bugs the launcher corrects are still there,
// so the fixes are needed (and a moto upgrade that changes this is noticed).
const stock = suite('stock moto (without the launcher fixes)');

const STOCK_CHECK = `
import json
from moto.iam.access_control import IAMPolicyStatement as S
trust = S({"Effect": "Allow", "Action": "sts:AssumeRole",
           "Principal": {"AWS": "arn:aws:iam::123456789012:role/agent"},
           "Condition": {"StringEquals": {"sts:ExternalId": "${EXTERNAL_ID}"}}})
print(json.dumps({
  "missingExternalIdPasses": trust._check_conditions({}),
  "roleSessionMatchesRole": trust._check_principal("arn:aws:sts::123456789012:assumed-role/agent/i-1"),
}))
`;

stock('stock moto passes a missing ExternalId and rejects the role’s own sessions', async () => {
  const py = spawn('python3', ['-c', STOCK_CHECK], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  py.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => py.once('close', r));
  assert.equal(JSON.parse(out), { missingExternalIdPasses: true, roleSessionMatchesRole: false });
});

stock.run();
