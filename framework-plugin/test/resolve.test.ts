import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAppDefinition, type ValidatedApp } from '../src/core/marathon/appDefinition.js';
import { resolve, type AuditRecord, type MountPlan } from '../src/core/resolver/index.js';
import { materialize } from '../src/delivery/file/materialize.js';
import { createLocalStore } from '../src/stores/localStore.js';
import type { SecretStore } from '../src/core/secrets/SecretStore.js';

const EXTERNAL_ID = 'Demo-External-Id-0123456789';
const AWS_CONFIG = `[default]\nregion = us-east-1\nrole_arn = arn:aws:iam::123456789012:role/sip-apps/app\nexternal_id = ${EXTERNAL_ID}\ncredential_source = Ec2InstanceMetadata\n`;
// The original walk-through's form: the AWS config handed over as an env secret (`AWS_CONFIG`).
const DEMO = JSON.stringify({
  id: '/instance-profile-app',
  cmd: 'printf "%s" "$AWS_CONFIG" > /tmp/awsconfig && ./main',
  env: { AWS_CONFIG: { secret: 'secret0' }, AWS_CONFIG_FILE: '/tmp/awsconfig', BINAPP_USER: 'testuser' },
  secrets: { secret0: { source: 'instance-profile-app/aws-config' } },
  labels: { 'edgelb.expose': 'true', 'edgelb.template': 'default', 'edgelb.first.frontend.rules': 'hostEq:binapp.mesosphere.com' },
});
const BINAPP = readFileSync(fileURLToPath(new URL('../../marathon/binapp.json', import.meta.url)), 'utf8');

let store: SecretStore;
let audit: AuditRecord[];
test.before.each(async () => {
  store = createLocalStore({ dir: mkdtempSync(join(tmpdir(), 'sip-resolve-')) });
  await store.create('/instance-profile-app/aws-config', AWS_CONFIG);
  audit = [];
});
const deps = () => ({ store, audit: (r: AuditRecord) => audit.push(r), now: () => new Date('2026-11-23T12:00:00Z') });
const withId = (text: string, id: string): ValidatedApp => parseAppDefinition({ ...JSON.parse(text), id });

async function rejection(p: Promise<unknown>): Promise<Error & { code: string; secret?: string; path?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code: string };
  }
  assert.unreachable('resolved');
  throw new Error();
}

test('the original demo: /instance-profile-app gets its AWS config as env AWS_CONFIG, audited', async () => {
  const plan = await resolve(parseAppDefinition(DEMO), { taskId: 'instance-profile-app.a1b2' }, deps());
  assert.is(plan.env.AWS_CONFIG, AWS_CONFIG);
  assert.equal(plan.files, []);
  assert.equal(audit, [
    {
      time: '2026-11-23T12:00:00.000Z',
      appId: '/instance-profile-app',
      taskId: 'instance-profile-app.a1b2',
      secret: 'secret0',
      path: 'instance-profile-app/aws-config',
      decision: 'allow',
      reason: "app /instance-profile-app lies under the secret's namespace /instance-profile-app",
    },
  ]);
});

test('the original demo as /other-app: denied before any value is read, with the reason, audited', async () => {
  let reads = 0;
  const counting: SecretStore = { ...store, get: async (p) => (reads++, store.get(p)) };
  const err = await rejection(resolve(withId(DEMO, '/other-app'), { taskId: 'other-app.1' }, { ...deps(), store: counting }));
  assert.is(err.code, 'SIP_SECRET_DENIED');
  assert.is(err.message, `secret "secret0" (instance-profile-app/aws-config) denied: app /other-app is not under the secret's namespace /instance-profile-app`);
  assert.is(reads, 0);
  assert.is(audit.length, 1);
  assert.is(audit[0]?.decision, 'deny');
  assert.is(audit[0]?.appId, '/other-app');
});

test('marathon/binapp.json: a file secret at aws-config, mode 0400', async () => {
  const plan = await resolve(parseAppDefinition(BINAPP), { taskId: 't1' }, deps());
  assert.equal(
    plan.files.map((f) => ({ ...f, bytes: f.bytes.toString() })),
    [{ secret: 'awsConfig', source: 'instance-profile-app/aws-config', containerPath: 'aws-config', mode: 0o400, bytes: AWS_CONFIG }],
  );
});

test('a plan never prints a value: JSON, inspect, template strings', async () => {
  const plan = await resolve(parseAppDefinition(DEMO), { taskId: 't' }, deps());
  for (const text of [JSON.stringify(plan), inspect(plan, { depth: 10 }), `${inspect(plan)}`]) {
    assert.ok(!text.includes(EXTERNAL_ID), 'a plan printed the external id');
    assert.match(text, 'AWS_CONFIG');
  }
  assert.ok(!JSON.stringify(audit).includes(EXTERNAL_ID));
});

test('a missing secret and an invalid AWS config stop the plan with typed errors (no value echoed)', async () => {
  const app = parseAppDefinition({ id: '/team/app', cmd: 'x', env: { A: { secret: 's' } }, secrets: { s: { source: 'team/missing' } } });
  const missing = await rejection(resolve(app, { taskId: 't' }, deps()));
  assert.is(missing.code, 'SIP_SECRET_UNAVAILABLE');
  assert.match(missing.message, 'secret "team/missing" does not exist');

  await store.update('instance-profile-app/aws-config', AWS_CONFIG.replace('Ec2InstanceMetadata', 'Nope') + 'aws_secret_access_key = x\n');
  const invalid = await rejection(resolve(parseAppDefinition(DEMO), { taskId: 't' }, deps()));
  assert.is(invalid.code, 'SIP_SECRET_CONTENT_INVALID');
  assert.match(invalid.message, 'credential_source');
  assert.match(invalid.message, 'static keys are refused');
  assert.ok(!invalid.message.includes(EXTERNAL_ID));
});

test('one denied secret among several denies the whole plan', async () => {
  await store.create('team/app/db', 'pw');
  const app = parseAppDefinition({
    id: '/team/app',
    cmd: 'x',
    env: { DB: { secret: 'db' }, AWS: { secret: 'aws' } },
    secrets: { db: { source: 'team/app/db' }, aws: { source: 'instance-profile-app/aws-config' } },
  });
  const err = await rejection(resolve(app, { taskId: 't' }, deps()));
  assert.is(err.code, 'SIP_SECRET_DENIED');
  assert.is(err.secret, 'aws');
  assert.equal(
    audit.map((a) => a.decision),
    ['allow', 'deny'],
  );
});

async function planFor(files: Array<[string, string]>): Promise<MountPlan> {
  const secrets = Object.fromEntries(files.map(([, s]) => [s, { source: `team/app/${s}` }]));
  for (const [, s] of files) await store.create(`team/app/${s}`, `value of ${s}`).catch(() => undefined);
  const app = parseAppDefinition({
    id: '/team/app',
    cmd: 'x',
    secrets,
    container: { type: 'MESOS', volumes: files.map(([containerPath, secret]) => ({ containerPath, secret })) },
  });
  return resolve(app, { taskId: 't' }, deps());
}

test('materialize writes 0400 files at their container paths; cleanup removes them and their new dirs', async () => {
  const sandbox = mkdtempSync(join(tmpdir(), 'sip-sandbox-'));
  const m = await materialize(
    await planFor([
      ['aws-config', 'a'],
      ['secrets/deep/db', 'b'],
    ]),
    sandbox,
  );
  assert.is(readFileSync(join(sandbox, 'aws-config'), 'utf8'), 'value of a');
  assert.is(statSync(join(sandbox, 'aws-config')).mode & 0o777, 0o400);
  assert.is(readFileSync(join(sandbox, 'secrets/deep/db'), 'utf8'), 'value of b');
  assert.is(m.files.length, 2);
  await m.cleanup();
  assert.equal(readdirSync(sandbox), []);
});

test('materialize refuses a symlink out of the sandbox and leaves nothing behind', async () => {
  const sandbox = mkdtempSync(join(tmpdir(), 'sip-sandbox-'));
  const outside = mkdtempSync(join(tmpdir(), 'sip-outside-'));
  symlinkSync(outside, join(sandbox, 'link'));
  const err = await rejection(
    materialize(
      await planFor([
        ['first', 'a'],
        ['link/escaped', 'b'],
      ]),
      sandbox,
    ),
  );
  assert.is(err.code, 'SIP_MATERIALIZE_FAILED');
  assert.match(err.message, '"link/escaped"');
  assert.equal(readdirSync(outside), []);
  assert.equal(readdirSync(sandbox).sort(), ['link'], 'the first file was rolled back');
});

test('materialize replaces a symlink planted at the target instead of writing through it', async () => {
  const sandbox = mkdtempSync(join(tmpdir(), 'sip-sandbox-'));
  const outside = mkdtempSync(join(tmpdir(), 'sip-outside-'));
  mkdirSync(join(sandbox, 'd'));
  symlinkSync(join(outside, 'victim'), join(sandbox, 'd', 'f'));
  const m = await materialize(await planFor([['d/f', 'a']]), sandbox);
  assert.equal(readdirSync(outside), []);
  assert.ok(lstatSync(join(sandbox, 'd', 'f')).isFile());
  await m.cleanup();
});

test.run();
