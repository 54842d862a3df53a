import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createLocalStore } from '@secure-instance-profiles/framework-plugin';
import { createDockerEngine } from '@secure-instance-profiles/framework-plugin/local/launcher';
import { createLogger } from '@secure-instance-profiles/framework-plugin/log';
import { waitFor } from '@secure-instance-profiles/framework-plugin/net';
import { buildBinappImage, IMAGE_USER } from '@secure-instance-profiles/binapp/image';
import { viaHost } from '../src/fixtures/http.js';
import { startStack, type Stack } from '../src/fixtures/stack.js';
import { startTestCluster, type TestCluster } from '../src/fixtures/testCluster.js';

// marathon/binapp-docker.json through the local cluster's Marathon API: the
// Docker containerizer path, behind EdgeLB, with the emulator behind it.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ID = '/instance-profile-app';
const clusterDir = mkdtempSync(join(tmpdir(), 'sip-docker-cluster-'));
const logger = createLogger({ name: 'docker-cluster-test', level: 'error' });
const docker = (...args: string[]): string => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const containersOf = (appId: string): string[] => docker('ps', '-aq', '--filter', `label=sip.app=${appId}`).split('\n').filter(Boolean);
let stack: Stack;
let tc: TestCluster;
let def: Record<string, any>;

const dockerApps = suite('DOCKER apps in the local cluster');

dockerApps.before(async () => {
  await buildBinappImage();
  stack = await startStack();
  const stateDir = clusterDir;
  tc = await startTestCluster({ stack, stateDir, logger });
  await createLocalStore({ dir: join(stateDir, 'secrets') }).create('/instance-profile-app/aws-config', stack.awsConfig);
  def = JSON.parse(readFileSync(join(ROOT, 'marathon/binapp-docker.json'), 'utf8'));
  def.env.BINAPP_BUCKET = stack.bucket; // what terraform renders with app_definition_file = binapp-docker.json
});

dockerApps.after(async () => {
  await tc?.stop();
  await stack?.stop();
  for (const id of containersOf(ID)) docker('rm', '-f', id);
});

dockerApps('marathon/binapp-docker.json becomes healthy and serves POST /bin behind HAProxy', async () => {
  assert.is((await tc.call('POST', '/v2/apps', def)).status, 201);
  const task = await tc.healthyTask(ID, 60_000);
  const res = await waitFor(
    async () => {
      const r = await viaHost(tc.lbPort, 'POST', '/bin', 'binapp.mesosphere.com', 'from a container');
      return r.status === 201 ? r : undefined;
    },
    { what: 'the container behind HAProxy', timeoutMs: 15_000, intervalMs: 300 },
  );
  const id = /^BinID (\S+)$/m.exec(res.body)?.[1];
  const obj = await stack.adminS3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: `bin/${id}` }));
  assert.is(await obj.Body!.transformToString(), 'from a container');
  assert.is(containersOf(ID).length, 1);
  const info = JSON.parse(docker('inspect', containersOf(ID)[0]!))[0];
  assert.is(info.HostConfig.NetworkMode, 'host');
  // Never root: the app's own user when the cluster isolates tasks (it owns the sandbox and the secret), else the image's.
  const hostSecret = join(clusterDir, 'sandboxes', task.id, 'aws-config');
  const owner = statSync(hostSecret);
  assert.is(info.Config.User, owner.uid === 0 ? IMAGE_USER : `${owner.uid}:${owner.gid}`);
  assert.ok(!/^0(:|$)/.test(info.Config.User), 'the container does not run as root');
  assert.is(info.Config.Labels['sip.task'], task.id);
  const secret = info.Mounts.find((m: { Destination: string }) => m.Destination === '/mnt/mesos/sandbox/aws-config');
  assert.is(secret?.RW, false, 'the secret file is mounted read-only');
  assert.ok(info.Config.Env.includes(`PORT0=${task.ports[0]}`), 'the task port is a host port');
  assert.not.ok(JSON.stringify(info).includes(stack.externalId), 'no external id in docker inspect');
});

dockerApps('a killed container is replaced by a new healthy task', async () => {
  const before = (await tc.app(ID)).tasks[0];
  docker('kill', containersOf(ID)[0]!);
  await tc.events.waitFor(
    (e) => e.eventType === 'status_update_event' && e.taskId === before.id && e.taskStatus === 'TASK_FAILED',
    15_000,
    'TASK_FAILED of the killed container',
  );
  const after = await waitFor(
    async () => {
      const a = await tc.app(ID);
      return a.tasksHealthy === 1 && a.tasks[0].id !== before.id ? a.tasks[0] : undefined;
    },
    { what: 'a replacement task healthy', timeoutMs: 60_000, intervalMs: 300 },
  );
  assert.is.not(after.id, before.id);
  assert.is(containersOf(ID).length, 1, 'exactly one container again');
});

dockerApps('removing the app leaves no container and no secret file', async () => {
  const removed = await tc.call('DELETE', `/v2/apps${ID}`);
  await tc.events.waitFor((e) => e.eventType === 'deployment_success' && e.id === removed.json.deploymentId, 30_000, 'the stop deployment');
  await waitFor(async () => containersOf(ID).length === 0, { what: 'no container', timeoutMs: 10_000, intervalMs: 200 });
  const files = execFileSync('find', [join(clusterDir, 'sandboxes'), '-name', 'aws-config'], { encoding: 'utf8' }).trim();
  assert.is(files, '');
});

dockerApps('an image that is not on the agent fails with the reason; no container', async () => {
  assert.is(
    (
      await tc.call('POST', '/v2/apps', {
        ...def,
        id: '/instance-profile-app/ghost',
        container: { ...def.container, docker: { image: 'secure-instance-profiles/no-such-image:1' } },
      })
    ).status,
    201,
  );
  const failed = await tc.events.waitFor(
    (e) => e.eventType === 'deployment_failed' && JSON.stringify(e).includes('/instance-profile-app/ghost'),
    15_000,
    'deployment_failed',
  );
  assert.match(String(failed.reason), 'image secure-instance-profiles/no-such-image:1 is not on this agent and there is no registry to pull from');
  assert.equal(containersOf('/instance-profile-app/ghost'), []);
  await tc.call('DELETE', '/v2/apps/instance-profile-app/ghost');
});

dockerApps('without a Docker engine: DOCKER apps fail with the fix, process apps are unaffected', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'sip-no-engine-'));
  const other = await startTestCluster({ stack, stateDir, logger, docker: createDockerEngine('/nonexistent/docker') });
  try {
    assert.is((await other.call('POST', '/v2/apps', { ...def, id: '/d/app' })).status, 201);
    const failed = await other.events.waitFor((e) => e.eventType === 'deployment_failed' && JSON.stringify(e).includes('/d/app'), 15_000, 'deployment_failed');
    assert.match(String(failed.reason), 'DOCKER container cannot start: no Docker client on this agent (apt-get install -y docker.io)');
    assert.is((await other.call('POST', '/v2/apps', { id: '/p/app', cmd: 'exec sleep 60' })).status, 201);
    const running = await waitFor(async () => (await other.app('/p/app'))?.tasksRunning === 1, {
      what: 'process app running',
      timeoutMs: 10_000,
      intervalMs: 200,
    });
    assert.ok(running);
  } finally {
    await other.stop();
  }
});

dockerApps.run();
