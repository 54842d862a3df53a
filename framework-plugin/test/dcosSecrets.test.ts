import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { startSecretsServer, type SecretsServer } from '../src/local/secrets-api/server.js';
import { createDcosSecretsClient } from '../src/stores/dcosSecretsClient.js';
import { createLocalStore } from '../src/stores/localStore.js';
import type { SecretStore } from '../src/core/secrets/SecretStore.js';

const TOKEN = 'acs-token-for-tests';
const VALUE = 'external_id = Never-Log-This-Value-77';
const SWAGGER = parse(readFileSync(fileURLToPath(new URL('./reference/dcos-secrets/api/secrets.yaml', import.meta.url)), 'utf8')) as {
  basePath: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  definitions: { Secret: { properties: Record<string, unknown>; additionalProperties?: boolean } };
};

let server: SecretsServer;
let client: SecretStore;
let logs = '';
test.before.each(async () => {
  logs = '';
  const sink = new Writable({ write: (c, _e, cb) => ((logs += c.toString()), cb()) });
  server = await startSecretsServer({
    store: createLocalStore({ dir: mkdtempSync(join(tmpdir(), 'sip-api-')) }),
    token: TOKEN,
    logger: pino({ level: 'debug' }, sink),
  });
  client = createDcosSecretsClient({ url: server.url, token: TOKEN });
});
test.after.each(async () => {
  await server.stop();
});

const raw = (method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<Response> =>
  fetch(`${server.url}/secrets/v1/secret/default/${path}`, {
    method,
    headers: { ...(token ? { authorization: `token=${token}` } : {}), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const codeOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code ?? 'none',
  );

test('client round trip against the server: create, get, list, update, delete', async () => {
  await client.create('/instance-profile-app/aws-config', VALUE);
  assert.is(await client.get('instance-profile-app/aws-config'), VALUE);
  await client.create('top', 'x');
  assert.equal(await client.list('/instance-profile-app'), ['aws-config']);
  assert.equal(await client.list(''), ['instance-profile-app/aws-config', 'top']);
  await client.update('instance-profile-app/aws-config', 'v2');
  assert.is(await client.get('instance-profile-app/aws-config'), 'v2');
  await client.delete('top');
  assert.equal(await client.list(''), ['instance-profile-app/aws-config']);
});

test('client errors are the store’s typed errors', async () => {
  await client.create('a/b', VALUE);
  assert.is(await codeOf(client.create('a/b', 'x')), 'SIP_SECRET_EXISTS');
  assert.is(await codeOf(client.get('a/none')), 'SIP_SECRET_NOT_FOUND');
  assert.is(await codeOf(client.update('a/none', 'x')), 'SIP_SECRET_NOT_FOUND');
  assert.is(await codeOf(client.delete('a/none')), 'SIP_SECRET_NOT_FOUND');
  assert.is(await codeOf(client.create('big', 'x'.repeat(1024 * 1024 + 1))), 'SIP_SECRET_TOO_LARGE');
  const wrong = createDcosSecretsClient({ url: server.url, token: 'wrong' });
  assert.is(await codeOf(wrong.get('a/b')), 'SIP_SECRET_UNAUTHORIZED');
  const down = createDcosSecretsClient({ url: 'http://127.0.0.1:1', token: TOKEN, timeoutMs: 2000 });
  assert.is(await codeOf(down.get('a/b')), 'SIP_SECRET_STORE_UNAVAILABLE');
});

test('wire shapes and status codes are the ones the DC/OS API description defines', async () => {
  const ops = SWAGGER.paths['/secret/{store}/{path/to/secret}'];
  assert.ok(ops, 'the swagger defines /secret/{store}/{path/to/secret}');
  assert.is(SWAGGER.basePath, '/secrets/v1');
  const expectStatus = (method: string, status: number): void =>
    assert.ok(String(status) in (ops?.[method]?.responses ?? {}), `swagger ${method.toUpperCase()} has no ${status}`);

  let res = await raw('PUT', 'team/db', { value: VALUE });
  assert.is(res.status, 201);
  expectStatus('put', 201);
  res = await raw('PUT', 'team/db', { value: VALUE });
  assert.is(res.status, 409);
  expectStatus('put', 409);
  res = await raw('GET', 'team/db');
  assert.is(res.status, 200);
  expectStatus('get', 200);
  const secret = (await res.json()) as Record<string, unknown>;
  assert.equal(secret, { value: VALUE });
  for (const key of Object.keys(secret)) assert.ok(key in SWAGGER.definitions.Secret.properties, `${key} is not a Secret property`);
  res = await raw('GET', 'team?list=true');
  assert.equal(await res.json(), { array: ['db'] });
  res = await raw('PATCH', 'team/db', { value: 'new' });
  assert.is(res.status, 204);
  expectStatus('patch', 204);
  res = await raw('DELETE', 'team/db');
  assert.is(res.status, 204);
  expectStatus('delete', 204);
  for (const method of ['GET', 'PATCH', 'DELETE']) {
    res = await raw(method, 'team/db', method === 'PATCH' ? { value: 'x' } : undefined);
    assert.is(res.status, 404, method);
    expectStatus(method.toLowerCase(), 404);
  }
});

test('no or wrong token → 401 with an acsjwt challenge; bad bodies → 400; other stores → 404', async () => {
  let res = await raw('GET', 'x', undefined, null);
  assert.is(res.status, 401);
  assert.is(res.headers.get('www-authenticate'), 'acsjwt');
  assert.is((await raw('GET', 'x', undefined, 'nope')).status, 401);
  assert.is((await raw('PUT', 'x', { notValue: 1 })).status, 400);
  res = await fetch(`${server.url}/secrets/v1/secret/default/x`, { method: 'PUT', headers: { authorization: `token=${TOKEN}` }, body: '{not json' });
  assert.is(res.status, 400);
  res = await fetch(`${server.url}/secrets/v1/secret/vault/x`, { headers: { authorization: `token=${TOKEN}` } });
  assert.is(res.status, 404);
  assert.is((await raw('PUT', 'bad%20path', { value: 'x' })).status, 400);
  for (const bad of ['%zz', 'team/%E0%A4%A', '%']) {
    res = await raw('GET', bad);
    assert.is(res.status, 400, `malformed encoding ${bad}`);
    assert.is(((await res.json()) as { code: string }).code, 'SIP_BAD_REQUEST');
  }
});

test('secret values never reach the server log', async () => {
  await client.create('team/db', VALUE);
  await client.get('team/db');
  await client.update('team/db', VALUE);
  assert.match(logs, 'secrets API request');
  assert.ok(!logs.includes('Never-Log-This-Value'), 'a value was logged');
  assert.ok(!logs.includes(TOKEN), 'the token was logged');
});

test.run();

test('a principal that may not touch secret values (sip agent beside sip server) gets 403 with no value and changes nothing; the server reads on', async () => {
  await server.stop();
  const tokens = new Map([
    ['agent-token', 'sip-agent'],
    ['server-token', 'sip-server'],
  ]);
  server = await startSecretsServer({
    store: createLocalStore({ dir: mkdtempSync(join(tmpdir(), 'sip-api-')) }),
    token: TOKEN,
    issued: (t) => tokens.get(t),
    mayAccess: (principal) => principal === 'sip-server' || principal === 'bootstrapuser',
    logger: pino({ level: 'silent' }),
  });
  await createDcosSecretsClient({ url: server.url, token: TOKEN }).create('app/aws-config', VALUE);
  const denied = await raw('GET', 'app/aws-config', undefined, 'agent-token');
  assert.is(denied.status, 403);
  const text = await denied.text();
  assert.not.match(text, 'Never-Log-This-Value');
  assert.match(text, 'sip-agent may not read or change secrets');
  const overwrite = await raw('PATCH', 'app/aws-config', { value: 'role_arn = arn:aws:iam::1:role/x' }, 'agent-token');
  assert.is(overwrite.status, 403);
  assert.is((await raw('DELETE', 'app/aws-config', undefined, 'agent-token')).status, 403);
  assert.is(await codeOf(createDcosSecretsClient({ url: server.url, token: 'agent-token' }).get('app/aws-config')), 'SIP_SECRET_UNAUTHORIZED');
  assert.is(await createDcosSecretsClient({ url: server.url, token: 'server-token' }).get('app/aws-config'), VALUE);
});
