import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { freePort } from '@secure-instance-profiles/framework-plugin/net';
import { buildBinappImage, IMAGE_USER, type BuiltImage } from '@secure-instance-profiles/binapp/image';
import { AppContainer, shareWithContainerUser } from '../src/fixtures/containers.js';
import { demoAuth } from '../src/fixtures/http.js';
import { startStack, type Stack } from '../src/fixtures/stack.js';
import { Wait, type StartedTestContainer } from 'testcontainers';

// binapp's locally built image, started by testcontainers with host
// networking and the app's AWS config mounted read-only, against the
// emulator provisioned by the real Terraform.

const image = suite('binapp image (testcontainers)');
let built: BuiltImage;
let stack: Stack;
let container: StartedTestContainer;
let url = '';
const inspect = (id: string): any => JSON.parse(execFileSync('docker', ['inspect', id], { encoding: 'utf8' }))[0];

image.before(async () => {
  built = await buildBinappImage();
  process.stdout.write(`  image ${built.image}: ${(built.sizeBytes / 1024 ** 2).toFixed(1)} MiB${built.cached ? ' (cached)' : ''}\n`);
  stack = await startStack();
  const config = await stack.writeConfig('aws-config', stack.awsConfig);
  await shareWithContainerUser(config, IMAGE_USER);
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const env = stack.awsEnv('/run/secrets/aws-config');
  container = await new AppContainer(built.image)
    .withNetworkMode('host')
    .withReadOnlyRootFilesystem()
    .withLabels({ 'sip.test': 'dockerImage' })
    .withEnvironment({ ...env, PORT0: String(port), AWS_REGION: 'us-east-1', BINAPP_BUCKET: stack.bucket, BINAPP_USER: 'testuser', BINAPP_PASS: 'password' })
    .withBindMounts([{ source: config, target: '/run/secrets/aws-config', mode: 'ro' }])
    .withWaitStrategy(Wait.forLogMessage(/binapp listening/))
    .withStartupTimeout(30_000)
    .start();
});

image.after(async () => {
  await container?.stop({ timeout: 5 }).catch(() => undefined);
  await stack?.stop();
});

image('the image is small, unprivileged, and rebuilt only when binapp changes', async () => {
  assert.ok(built.sizeBytes < 160 * 1024 ** 2, `${built.sizeBytes} bytes`);
  const again = await buildBinappImage();
  assert.is(again.cached, true, 'the second build finds the same content hash');
  assert.is(again.image, built.image);
  assert.is(inspect(built.image).Config.User, IMAGE_USER);
});

image('POST /bin in the container stores the object via the mounted config; it reads back from the bucket', async () => {
  assert.is((await fetch(`${url}/ping`)).status, 200, 'the container assumed the app role and reached the bucket');
  const body = randomBytes(300 * 1024);
  const res = await fetch(`${url}/bin`, { method: 'POST', body, headers: { authorization: demoAuth(), 'content-type': 'application/octet-stream' } });
  assert.is(res.status, 201);
  const id = /^BinID (\S+)$/m.exec(await res.text())?.[1];
  assert.ok(id);
  const obj = await stack.adminS3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: `bin/${id}` }));
  assert.ok(Buffer.from(await obj.Body!.transformToByteArray()).equals(body));
});

image('read-only root and secret mount; the external id is not in docker inspect or the container log', async () => {
  const info = inspect(container.getId());
  assert.is(info.HostConfig.ReadonlyRootfs, true);
  assert.is(info.HostConfig.NetworkMode, 'host');
  const mount = info.Mounts.find((m: { Destination: string }) => m.Destination === '/run/secrets/aws-config');
  assert.is(mount.RW, false);
  const write = await container.exec(['/bin/sh', '-c', 'echo x > /run/secrets/aws-config']);
  assert.is.not(write.exitCode, 0, 'the secret file cannot be written');
  const root = await container.exec(['/bin/sh', '-c', 'echo x > /app/x']);
  assert.is.not(root.exitCode, 0, 'the root filesystem cannot be written');
  const logs = execFileSync('docker', ['logs', container.getId()], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.match(logs, 'binapp listening');
  const leaks = [JSON.stringify(info), logs].filter((t) => t.includes(stack.externalId)).length;
  assert.is(leaks, 0, 'places holding the external id');
});

image.run();
