import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAppDefinition } from '../src/core/marathon/appDefinition.js';
import { createMountPlan } from '../src/core/resolver/mountPlan.js';
import type { TaskToDeliver } from '../src/delivery/deliveryMode.js';
import { deliveryModes } from '../src/local/scheduler/deliveryModes.js';

// The delivery modes, each a folder under delivery/, without a cluster: what
// the scheduler asks (may this task start? deliver it) and what a task gets.

const AWS = '[default]\nrole_arn = arn:aws:iam::123456789012:role/sip-apps/web\nexternal_id = ext-secret-123\ncredential_source = Ec2InstanceMetadata\n';
const app = (labels: Record<string, string>) => parseAppDefinition({ id: '/team/web', cmd: 'x', labels });
const file = (containerPath: string, text: string, source = 'team/other') => ({ secret: 's', source, containerPath, mode: 0o400, bytes: Buffer.from(text) });
const task = (labels: Record<string, string>, files = [file('settings.ini', 'colour=blue\n')], env: Record<string, string> = {}): TaskToDeliver => {
  const a = app(labels);
  return {
    app: a,
    taskId: 'team_web.instance-1._app.1',
    plan: createMountPlan(a.id, 'team_web.instance-1._app.1', files, env),
    docker: false,
    audit: () => undefined,
    now: () => new Date(),
  };
};
const modes = deliveryModes({ defaultMode: 'file', metadataClosed: true, endpoint: { agentUrl: 'http://127.0.0.1:51679', docker: false } });
const dir = mkdtempSync(join(tmpdir(), 'sip-modes-'));

test('the label picks the mode, else the cluster default', () => {
  assert.is(modes.modeOf(app({})).name, 'file');
  assert.is(modes.modeOf(app({ 'sip.aws.credentials': 'endpoint' })).name, 'endpoint');
});

test('endpoint mode: the task gets the endpoint and its token path, never an AWS config; refused where no agent can serve it', async () => {
  const endpoint = modes.modeOf(app({ 'sip.aws.credentials': 'endpoint' }));
  const ok = task({ 'sip.aws.credentials': 'endpoint' });
  assert.is(endpoint.refusal(ok), undefined);
  const sandbox = join(dir, 'endpoint');
  mkdirSync(sandbox);
  const delivered = await endpoint.deliver(ok, { hostPath: sandbox, taskPath: '/mnt/mesos/sandbox' });
  assert.is(delivered.env.AWS_CONTAINER_CREDENTIALS_FULL_URI, 'http://127.0.0.1:51679/v1/credentials');
  assert.is(delivered.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, '/mnt/mesos/sandbox/.sip-task-token', 'the token as the task sees its sandbox');
  assert.is(readFileSync(join(sandbox, 'settings.ini'), 'utf8'), 'colour=blue\n', 'other secrets are delivered');
  await delivered.cleanup();
  assert.not.ok(existsSync(join(sandbox, 'settings.ini')), 'cleaned up');
  const leaky = endpoint.refusal(task({ 'sip.aws.credentials': 'endpoint' }, [], { SETTINGS: AWS }));
  assert.match(String(leaky), '$SETTINGS would hold an AWS config');
  assert.not.match(String(leaky), 'ext-secret-123');
  const noAgent = deliveryModes({ defaultMode: 'file', metadataClosed: false, endpoint: { docker: false } });
  assert.match(String(noAgent.modeOf(app({ 'sip.aws.credentials': 'endpoint' })).refusal(ok)), 'this cluster runs no credential agent');
  const docker = endpoint.refusal({ ...ok, docker: true });
  assert.match(String(docker), 'cannot resolve DOCKER containers here');
});

test('file mode: secrets written into the sandbox (0400); refused where the metadata service is closed to tasks', async () => {
  const fileMode = modes.modeOf(app({}));
  const withConfig = task({}, [file('aws-config', AWS, 'team/aws-config')]);
  assert.match(String(fileMode.refusal(withConfig)), 'closes the metadata service to tasks');
  const open = deliveryModes({ defaultMode: 'file', metadataClosed: false, endpoint: { docker: false } }).modeOf(app({}));
  assert.is(open.refusal(withConfig), undefined);
  const sandbox = join(dir, 'file');
  mkdirSync(sandbox);
  const delivered = await open.deliver(withConfig, { hostPath: sandbox, taskPath: sandbox });
  assert.equal(delivered.files, [join(sandbox, 'aws-config')]);
  assert.equal(Object.keys(delivered.env), []);
  await delivered.cleanup();
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
