import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AwsCredentials } from '@secure-instance-profiles/framework-plugin/local/emulator';
import { waitFor } from '@secure-instance-profiles/framework-plugin/net';
import { startBinapp, type BinappProcess } from '../src/fixtures/binappProcess.js';
import { demoAuth, streamUpload } from '../src/fixtures/http.js';
import { readInstanceProfileCredentials } from '../src/fixtures/imds.js';
import { startStack, type Stack } from '../src/fixtures/stack.js';
import { assertNoLeaks, type KnownSecret } from '../src/fixtures/leaks.js';

// The spine, end to end on real parts: moto with IAM enforcement, the real
// Terraform, the metadata endpoint, binapp as its own process using nothing
// but the AWS SDK default chain and the rendered secret_aws_conf.

const MiB = 1024 * 1024;
const ctx = {} as { stack: Stack; app: BinappProcess; procs: BinappProcess[]; configFile: string };
const AUTH = { authorization: demoAuth() };

async function binapp(configFile: string, env: Record<string, string> = {}): Promise<BinappProcess> {
  const proc = await startBinapp({
    env: { ...ctx.stack.awsEnv(configFile), BINAPP_BUCKET: ctx.stack.bucket, BINAPP_USER: 'testuser', BINAPP_PASS: 'password', ...env },
  });
  ctx.procs.push(proc);
  return proc;
}

async function bucketKeys(): Promise<string[]> {
  const out = await ctx.stack.adminS3.send(new ListObjectsV2Command({ Bucket: ctx.stack.bucket }));
  return (out.Contents ?? []).map((o) => o.Key ?? '');
}

async function openMultipartUploads(): Promise<number> {
  const out = await ctx.stack.adminS3.send(new ListMultipartUploadsCommand({ Bucket: ctx.stack.bucket }));
  return out.Uploads?.length ?? 0;
}

/** Asserts the text holds no external id, without ever printing the text. */
/** The external ids and admin key this suite knows, for the shared leak check. */
const known = (...extra: string[]): KnownSecret[] => [
  { kind: 'external id', value: ctx.stack.externalId },
  { kind: 'admin secret key', value: ctx.stack.emulator.admin.credentials.secretAccessKey },
  ...extra.map((value) => ({ kind: 'external id', value })),
];

const spine = suite('spine');

/** Denials can only be asserted where the emulator enforces IAM; elsewhere say so. */
const enforced = (what: string): boolean => {
  if (ctx.stack.emulator.enforcesIam) return true;
  process.stdout.write(`\n  NOT CHECKED (${ctx.stack.emulator.description}): ${what}\n`);
  return false;
};

spine.before(async () => {
  ctx.procs = [];
  ctx.stack = await startStack();
  ctx.configFile = await ctx.stack.writeConfig('aws-config', ctx.stack.awsConfig);
  ctx.app = await binapp(ctx.configFile);
});

spine.after(async () => {
  await Promise.allSettled((ctx.procs ?? []).map((p) => p.stop('SIGKILL')));
  await ctx.stack?.stop();
});

spine('terraform renders the secret and the Marathon app definition', () => {
  const conf = ctx.stack.awsConfig;
  assert.match(conf, /^\[default\]$/m);
  assert.match(conf, new RegExp(`^role_arn = ${ctx.stack.appRoleArn.replace(/\//g, '\\/')}$`, 'm'));
  assert.match(conf, /^credential_source = Ec2InstanceMetadata$/m);
  assert.match(ctx.stack.externalId, /^[0-9a-f]{32}$/);
  const app = JSON.parse(ctx.stack.marathonAppDefinition) as {
    id: string;
    env: Record<string, string>;
    secrets: Record<string, { source: string }>;
  };
  assert.is(app.id, '/instance-profile-app');
  assert.is(app.env.BINAPP_BUCKET, ctx.stack.bucket);
  assert.equal(Object.values(app.secrets), [{ source: 'instance-profile-app/aws-config' }]);
  assertNoLeaks({ 'the app definition': ctx.stack.marathonAppDefinition }, known());
});

spine('binapp reaches the bucket through the metadata endpoint and AssumeRole(external id)', async () => {
  const res = await fetch(`${ctx.app.url}/ping`);
  assert.is(res.status, 200, await res.clone().text());
  assert.ok(ctx.stack.imds.credentialRequests > 0, 'the SDK fetched instance-profile credentials');
});

spine('POST /bin of 1 MiB random bytes → bin/<id> is byte-identical when read with a separate admin client', async () => {
  const body = randomBytes(MiB);
  const res = await fetch(`${ctx.app.url}/bin`, { method: 'POST', body, headers: { ...AUTH, 'content-type': 'application/octet-stream' } });
  assert.is(res.status, 201);
  const id = /^BinID (\S+)\n$/.exec(await res.text())?.[1] ?? '';
  const obj = await ctx.stack.adminS3.send(new GetObjectCommand({ Bucket: ctx.stack.bucket, Key: `bin/${id}` }));
  assert.is(obj.ContentType, 'application/octet-stream');
  assert.ok(Buffer.from(await obj.Body!.transformToByteArray()).equals(body), 'stored bytes differ');
  const back = await fetch(`${ctx.app.url}/bin/${id}`, { headers: AUTH });
  assert.ok(Buffer.from(await back.arrayBuffer()).equals(body), 'GET /bin/:id bytes differ');
});

spine('curl --data-binary (form content type, as the original walk-through sends) stores the exact bytes', async () => {
  const file = join(ctx.stack.workDir, 'curl-body.bin');
  const body = randomBytes(300_000);
  writeFileSync(file, body);
  const curl = spawnSync('curl', ['-sS', '--fail-with-body', '--user', 'testuser:password', '--data-binary', `@${file}`, `${ctx.app.url}/bin`], {
    encoding: 'utf8',
  });
  assert.is(curl.status, 0, curl.stderr);
  const id = /^BinID (\S+)$/m.exec(curl.stdout)?.[1] ?? '';
  const obj = await ctx.stack.adminS3.send(new GetObjectCommand({ Bucket: ctx.stack.bucket, Key: `bin/${id}` }));
  assert.is(obj.ContentType, 'application/x-www-form-urlencoded');
  assert.ok(Buffer.from(await obj.Body!.transformToByteArray()).equals(body), 'stored bytes differ');
});

spine('a multipart-sized upload (20 MiB, streamed) is stored whole', async () => {
  const r = await streamUpload({ url: `${ctx.app.url}/bin`, headers: { ...AUTH, accept: 'application/json' }, bytes: 20 * MiB });
  assert.is(r.status, 201);
  const { id } = JSON.parse(r.body) as { id: string };
  const obj = await ctx.stack.adminS3.send(new GetObjectCommand({ Bucket: ctx.stack.bucket, Key: `bin/${id}` }));
  assert.is(obj.ContentLength, 20 * MiB);
});

for (const [name, config] of [
  ['a wrong external id', (c: string) => c.replace(/^external_id = .*$/m, 'external_id = not-the-right-id')],
  ['no external id', (c: string) => c.replace(/^external_id = .*\n/m, '')],
] as const) {
  spine(`${name}: STS denies, /ping is 503, POST /bin is 502 naming sts:AssumeRole, nothing is written, no id is logged`, async () => {
    if (!enforced(`${name} is denied`)) return;
    const file = await ctx.stack.writeConfig(`aws-config-${name.replace(/\W+/g, '-')}`, config(ctx.stack.awsConfig));
    const bad = await binapp(file);
    const before = await bucketKeys();

    const ping = await fetch(`${bad.url}/ping`);
    assert.is(ping.status, 503);
    assert.is(await ping.text(), 'bucket not reachable: sts:AssumeRole was denied (AccessDenied)\n');

    const post = await fetch(`${bad.url}/bin`, { method: 'POST', body: randomBytes(4096), headers: { ...AUTH, accept: 'application/json' } });
    assert.is(post.status, 502);
    const body = (await post.json()) as { code: string; step: string; message: string };
    assert.equal(body, { code: 'BINAPP_UPSTREAM_DENIED', step: 'sts:AssumeRole', message: 'AWS step sts:AssumeRole was denied (AccessDenied)' });

    assert.equal(await bucketKeys(), before);
    await bad.stop();
    assertNoLeaks({ 'binapp logs': bad.output() }, known('not-the-right-id'), { awsShapes: true });
  });
}

spine('STS itself: the agent session gets AccessDenied without or with a wrong external id, a session with the right one', async () => {
  if (!enforced('AssumeRole without the external id is denied')) return;
  const agent = await readInstanceProfileCredentials(ctx.stack.imds.endpoint);
  const sts = new STSClient({ endpoint: ctx.stack.emulator.endpoint, region: 'us-east-1', credentials: agent, maxAttempts: 1 });
  const attempt = async (externalId?: string): Promise<string> =>
    sts
      .send(new AssumeRoleCommand({ RoleArn: ctx.stack.appRoleArn, RoleSessionName: 't', ...(externalId ? { ExternalId: externalId } : {}) }))
      .then(() => 'allowed')
      .catch((e: Error) => e.name);
  assert.is(await attempt(), 'AccessDenied');
  assert.is(await attempt('wrong-id'), 'AccessDenied');
  assert.is(await attempt(ctx.stack.externalId), 'allowed');
  sts.destroy();
});

spine('the agent credentials alone can neither write, read nor list the bucket', async () => {
  if (!enforced('the agent credentials are denied on the bucket')) return;
  const agent: AwsCredentials = await readInstanceProfileCredentials(ctx.stack.imds.endpoint);
  const s3 = new S3Client({ endpoint: ctx.stack.emulator.endpoint, region: 'us-east-1', credentials: agent, forcePathStyle: true, maxAttempts: 1 });
  const [key] = await bucketKeys();
  const results = await Promise.all([
    s3.send(new PutObjectCommand({ Bucket: ctx.stack.bucket, Key: 'bin/agent-was-here', Body: 'x' })).then(
      () => 'allowed',
      (e: Error) => e.name,
    ),
    s3.send(new GetObjectCommand({ Bucket: ctx.stack.bucket, Key: key })).then(
      () => 'allowed',
      (e: Error) => e.name,
    ),
    s3.send(new ListObjectsV2Command({ Bucket: ctx.stack.bucket, Prefix: 'bin/' })).then(
      () => 'allowed',
      (e: Error) => e.name,
    ),
  ]);
  assert.equal(results, ['AccessDenied', 'AccessDenied', 'AccessDenied']);
  s3.destroy();
});

spine('over BINAPP_MAX_BYTES: 413, and neither an object nor an open multipart upload is left', async () => {
  const small = await binapp(ctx.configFile, { BINAPP_MAX_BYTES: String(12 * MiB) });
  const before = await bucketKeys();
  const r = await streamUpload({ url: `${small.url}/bin`, headers: { ...AUTH, accept: 'application/json' }, bytes: 30 * MiB });
  assert.is(r.status, 413);
  assert.is((JSON.parse(r.body) as { code: string }).code, 'BINAPP_PAYLOAD_TOO_LARGE');
  assert.equal(await bucketKeys(), before);
  assert.is(await openMultipartUploads(), 0);
  await small.stop();
});

spine('a client that disconnects mid-upload (after parts were sent) leaves no object and no parts', async () => {
  const before = await bucketKeys();
  const r = await streamUpload({ url: `${ctx.app.url}/bin`, headers: AUTH, bytes: 40 * MiB, abortAfter: 20 * MiB });
  assert.ok(r.aborted);
  const deadline = Date.now() + 10_000;
  while ((await openMultipartUploads()) > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
  assert.is(await openMultipartUploads(), 0);
  assert.equal(await bucketKeys(), before);
  assert.match(ctx.app.output(), /BINAPP_CLIENT_ABORTED/);
});

// Memory while streaming is a benchmark figure (npm run bench: peak RSS for 1 GiB), not asserted here.
spine('a 256 MiB upload streams through and is stored whole', async () => {
  const r = await streamUpload({ url: `${ctx.app.url}/bin`, headers: { ...AUTH, accept: 'application/json' }, bytes: 256 * MiB, chunkBytes: MiB });
  assert.is(r.status, 201);
  const { id } = JSON.parse(r.body) as { id: string };
  const head = await ctx.stack.adminS3.send(new GetObjectCommand({ Bucket: ctx.stack.bucket, Key: `bin/${id}`, Range: 'bytes=0-0' }));
  assert.is(head.ContentRange, `bytes 0-0/${256 * MiB}`);
  await head.Body?.transformToByteArray();
});

spine('SIGTERM: in-flight uploads finish, new connections are refused, exit code 0', async () => {
  const app = await binapp(ctx.configFile);
  let signalled = false;
  const upload = streamUpload({
    url: `${app.url}/bin`,
    headers: { ...AUTH, accept: 'application/json' },
    bytes: 8 * MiB,
    onProgress: async (sent) => {
      if (!signalled && sent >= 2 * MiB) {
        signalled = true;
        app.child.kill('SIGTERM');
        // Waits for the state it asserts: the listener closes once the signal is handled.
        await waitFor(
          async () =>
            fetch(`${app.url}/healthz`).then(
              () => false,
              () => true,
            ),
          { what: 'new connections refused while draining', timeoutMs: 5000, intervalMs: 20 },
        );
      }
    },
  });
  const r = await upload;
  assert.is(r.status, 201);
  const { id } = JSON.parse(r.body) as { id: string };
  assert.is(await app.exited, 0);
  const obj = await ctx.stack.adminS3.send(new GetObjectCommand({ Bucket: ctx.stack.bucket, Key: `bin/${id}` }));
  assert.is(obj.ContentLength, 8 * MiB);
  await obj.Body?.transformToByteArray();
});

spine('bad Terraform input is refused with the rule, without echoing the value, and changes nothing', async () => {
  const before = await ctx.stack.terraform.outputs();
  const bad = 'has spaces; and quotes"';
  const err = await ctx.stack.terraform.apply({ ...ctx.stack.vars, external_id: bad }).catch((e: Error & { code?: string }) => e);
  assert.instance(err, Error);
  assert.is((err as { code?: string }).code, 'SIP_TERRAFORM_FAILED');
  assert.match((err as Error).message, /external_id must be 2-1224 characters/);
  assert.ok(!(err as Error).message.includes(bad), 'the rejected value was echoed');
  assert.equal(await ctx.stack.terraform.outputs(), before);
});

spine('terraform printed no external id while applying', () => {
  assertNoLeaks({ 'terraform output': ctx.stack.terraformLog() }, known());
  assert.match(ctx.stack.terraformLog(), /Apply complete!/);
});

spine('no binapp log line carries the external id or a credential', () => {
  const logs = ctx.procs.map((p) => p.output()).join('\n');
  assert.ok(logs.length > 0, 'binapp logs were collected');
  // Known secrets in every shape, and the role session binapp assumed itself (key id, secret key, token) by its shape.
  assertNoLeaks({ 'binapp logs': logs }, [...known(), { kind: 'basic-auth credentials', value: 'testuser:password' }], { awsShapes: true });
});

spine.run();
