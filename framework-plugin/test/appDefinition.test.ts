import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isSandboxPath, parseAppDefinition, readAppDefinition, secretVolumes, validateAppDefinition } from '../src/core/marathon/appDefinition.js';
import { resolveAppId } from '../src/core/marathon/appId.js';
import { MarathonValidationError, type MarathonErrorBody } from '../src/core/marathon/validationError.js';

const REF = fileURLToPath(new URL('./reference/', import.meta.url));
const json = (rel: string): unknown => JSON.parse(readFileSync(join(REF, rel), 'utf8'));

function errorOf(input: unknown): MarathonErrorBody & { status: number } {
  try {
    parseAppDefinition(input);
  } catch (err) {
    assert.instance(err, MarathonValidationError);
    const e = err as MarathonValidationError;
    return { status: e.status, ...e.body };
  }
  assert.unreachable('the app was accepted');
  throw new Error('unreachable');
}
const pathsOf = (body: MarathonErrorBody): string[] => (body.details ?? []).map((d) => d.path);

/** Every app definition in the reference folder, from lists, groups and single files. */
function referenceApps(): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  const add = (file: string, v: unknown): void => {
    const o = v as { apps?: unknown[]; groups?: Array<{ apps?: unknown[] }>; id?: unknown; containers?: unknown; tasks?: unknown; affectedApps?: unknown };
    if (Array.isArray(v)) v.forEach((a) => add(file, a));
    else if (Array.isArray(o.apps) || Array.isArray(o.groups)) {
      (o.apps ?? []).forEach((a) => out.push([file, a]));
      (o.groups ?? []).forEach((g) => (g.apps ?? []).forEach((a) => out.push([file, a])));
    } else if (typeof o.id === 'string' && !o.containers && !o.tasks && !o.affectedApps) out.push([file, v]); // not pods, tasks, deployments
  };
  const dirs = ['marathon/api/v2/examples', 'marathon/articles-examples/requests', 'dcos-secrets/examples'];
  for (const dir of dirs) {
    for (const f of readdirSync(join(REF, dir)).filter((n) => n.endsWith('.json'))) add(`${dir}/${f}`, json(`${dir}/${f}`));
  }
  return out;
}

test('the reference folder is present', () => {
  assert.ok(existsSync(REF), `expected the reference data at ${REF}`);
});

test('every example app definition in the reference folder parses, unknown fields kept', () => {
  const apps = referenceApps();
  assert.ok(apps.length >= 10, `found only ${apps.length} example apps`);
  for (const [file, raw] of apps) {
    const app = readAppDefinition(raw);
    for (const key of Object.keys(raw as object)) {
      if ((raw as Record<string, unknown>)[key] !== null) assert.ok(key in app, `${file}: field ${key} was dropped`);
    }
  }
});

test('the examples that are valid apps validate; the documentation-only ones fail exactly where Marathon would', () => {
  const invalid = new Map<string, string[]>([
    // RAML's showcase app: both cmd and args; env refers to a secret *source* instead of a name.
    ['marathon/api/v2/examples/app.json', ['/', '/env/PASSWORD/secret', '/secrets/secret1', '/secrets/secret3']],
    // PATCH bodies, not whole apps.
    ['marathon/api/v2/examples/app_patch.json', ['/']],
    ['marathon/api/v2/examples/apps_patch.json', ['/']],
  ]);
  for (const [file, raw] of referenceApps()) {
    const expected = invalid.get(file);
    if (expected) assert.equal(pathsOf(errorOf(raw)), expected, file);
    else parseAppDefinition(raw);
  }
});

test('an app in the original walk-through’s shape parses: env secret, Docker container, health check', () => {
  // Written here in that shape (the original file has no licence to copy it under).
  const app = parseAppDefinition({
    id: '/instance-profile-app',
    cmd: './main',
    env: { AWS_CONFIG: { secret: 'secret0' }, AWS_CONFIG_FILE: '/tmp/awsconfig' },
    secrets: { secret0: { source: 'instance-profile-app/aws-config' } },
    container: {
      type: 'DOCKER',
      docker: { image: 'example/s3bin:0.0.2', forcePullImage: true },
      portMappings: [{ containerPort: 8000, hostPort: 0, name: 'http' }],
      volumes: [],
    },
    healthChecks: [{ protocol: 'MESOS_HTTP', path: '/ping', portIndex: 0 }],
    networks: [{ mode: 'container/bridge' }],
    unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 },
  });
  assert.is(app.id, '/instance-profile-app');
  assert.equal(app.env.AWS_CONFIG, { secret: 'secret0' });
  assert.equal(app.secrets, { secret0: { source: 'instance-profile-app/aws-config' } });
  assert.is(app.container?.type, 'DOCKER');
  assert.is(app.healthChecks[0]?.protocol, 'MESOS_HTTP');
  assert.ok('networks' in app && 'unreachableStrategy' in app, 'unknown fields kept');
});

test('the project’s own marathon/binapp.json parses with its file secret', () => {
  const app = parseAppDefinition(readFileSync(fileURLToPath(new URL('../../marathon/binapp.json', import.meta.url)), 'utf8'));
  assert.equal(secretVolumes(app), [{ containerPath: 'aws-config', secret: 'awsConfig' }]);
});

test('marathon/binapp-docker.json, the Docker variant, parses with its file secret and port mapping', () => {
  const app = parseAppDefinition(readFileSync(fileURLToPath(new URL('../../marathon/binapp-docker.json', import.meta.url)), 'utf8'));
  assert.is(app.container?.type, 'DOCKER');
  assert.equal(secretVolumes(app), [{ containerPath: 'aws-config', secret: 'awsConfig' }]);
  assert.is(app.container?.portMappings?.[0]?.name, 'http');
});

test('ids: absolute kept, relative resolved, bad segments refused', () => {
  assert.equal(resolveAppId('/a/b'), { ok: true, id: '/a/b' });
  assert.equal(resolveAppId('app', '/group'), { ok: true, id: '/group/app' });
  assert.equal(resolveAppId('./app', '/group/sub'), { ok: true, id: '/group/sub/app' });
  assert.equal(resolveAppId('../other/app', '/group/sub'), { ok: true, id: '/group/other/app' });
  assert.equal(resolveAppId('a.b-c/d1'), { ok: true, id: '/a.b-c/d1' });
  for (const bad of ['/Upper', '/-dash', '/dash-', '/under_score', '/a/b.', '/../x', '/', '']) assert.is(resolveAppId(bad).ok, false, bad);
  assert.equal(pathsOf(errorOf({ id: '/My_App', cmd: 'x' })), ['/id']);
});

test('secret reference errors carry their paths', () => {
  const body = errorOf({
    id: '/app',
    cmd: 'x',
    env: { A: { secret: 'missing' }, B: 'plain' },
    secrets: { unused: { source: 'app/unused' }, used: { source: 'app/used' } },
    container: {
      type: 'MESOS',
      volumes: [
        { containerPath: 'ok', secret: 'used' },
        { containerPath: '/etc/passwd', secret: 'used' },
        { containerPath: '../../escape', secret: 'used' },
        { containerPath: 'ok', secret: 'nope' },
      ],
    },
  });
  assert.is(body.status, 422);
  assert.is(body.message, 'Object is not valid');
  const byPath = Object.fromEntries((body.details ?? []).map((d) => [d.path, d.errors]));
  assert.equal(byPath['/env/A/secret'], ['references an undefined secret']);
  assert.equal(byPath['/secrets/unused'], ['is declared but referenced by no env variable or volume']);
  assert.match(byPath['/container/volumes/1/containerPath']?.[0] ?? '', 'relative path inside the sandbox');
  assert.match(byPath['/container/volumes/2/containerPath']?.[0] ?? '', 'relative path inside the sandbox');
  assert.equal(byPath['/container/volumes/3/secret'], ['volume.secret must refer to an existing secret']);
  assert.match(byPath['/container/volumes/3/containerPath']?.[0] ?? '', 'duplicates the containerPath of volume 0');
});

test('duplicate port names, bad types and ranges are reported by path', () => {
  const body = errorOf({
    id: '/app',
    cmd: 'x',
    instances: -1,
    cpus: 'lots',
    portDefinitions: [
      { port: 0, name: 'http' },
      { port: 70000, name: 'http' },
    ],
    healthChecks: [{ protocol: 'GOPHER' }],
    labels: { a: 1 },
  });
  const paths = pathsOf(body);
  for (const p of ['/instances', '/cpus', '/portDefinitions/1/port', '/healthChecks/0/protocol', '/labels/a']) assert.ok(paths.includes(p), `${p} in ${paths}`);
  const dup = errorOf({
    id: '/app',
    cmd: 'x',
    portDefinitions: [
      { port: 0, name: 'http' },
      { port: 0, name: 'http' },
    ],
  });
  assert.equal(pathsOf(dup), ['/portDefinitions/1/name']);
});

test('JSON that does not parse is 400 Invalid JSON; a non-object too', () => {
  assert.is(errorOf('{"id": ').status, 400);
  assert.is(errorOf('{"id": ').message, 'Invalid JSON');
  assert.is(errorOf('[1,2]').status, 400);
});

test('sandbox paths', () => {
  for (const ok of ['aws-config', 'secrets/aws', './a', 'a/../b']) assert.ok(isSandboxPath(ok), ok);
  for (const bad of ['/abs', '..', '../x', 'a/../..', '.', '', 'a/../../b']) assert.not.ok(isSandboxPath(bad), bad);
});

test('validation happens once: parse gives the absolute id; validating again changes nothing', () => {
  const read = readAppDefinition({ id: 'team/../app', cmd: 'x' });
  assert.equal(validateAppDefinition(read, { baseGroup: '/g' }), []);
  assert.is(read.id, 'team/../app', 'validateAppDefinition must not rewrite the id');
  const app = parseAppDefinition({ id: 'team/../app', cmd: 'x' }, { baseGroup: '/g' });
  assert.is(app.id, '/g/app');
});

test("hostile input gets Marathon's 4xx shape, never a crash: depth, prototype names, env names, id length", () => {
  let deep = '{"x":1}';
  for (let i = 0; i < 5000; i++) deep = `{"a":${deep}}`;
  const tooDeep = errorOf(`{"id":"/deep","cmd":"x","labels":{},"extra":${deep}}`);
  assert.is(tooDeep.status, 422);
  assert.equal(pathsOf(tooDeep), ['/']);

  const proto = errorOf({ id: '/p', cmd: 'x', env: { A: { secret: 'constructor' } } });
  assert.is(proto.status, 422);
  assert.ok(pathsOf(proto).includes('/env/A/secret'), JSON.stringify(proto));
  assert.ok(pathsOf(errorOf({ id: '/p', cmd: 'x', env: { A: { secret: 'toString' } } })).includes('/env/A/secret'));
  assert.ok(pathsOf(errorOf({ id: '/p', cmd: 'x', env: { 'A=B': 'x' } })).includes('/env/A=B'));
  assert.ok(pathsOf(errorOf({ id: '/p', cmd: 'x', env: { S: { secret: 'a b' } }, secrets: { 'a b': { source: 'p/x' } } })).includes('/secrets/a b'));

  const long = errorOf({ id: `/${'a'.repeat(200)}`, cmd: 'x' });
  assert.is(long.status, 422);
  assert.ok(pathsOf(long).includes('/id'));
  assert.ok(parseAppDefinition({ id: `/${'a'.repeat(60)}/${'b'.repeat(60)}`, cmd: 'x' }));
});

test.run();
