import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MarathonApiError } from '../src/clients/marathon/client.js';
import { EdgeLbApiError } from '../src/clients/edgelb/client.js';
import { CATALOGUE, codeForStatus, exitCodeOf, statusOf, type SipErrorCode } from '../src/core/errors/catalogue.js';
import { publicError, SipError } from '../src/core/errors/SipError.js';
import { SecretErrorCode } from '../src/core/secrets/errors.js';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : []));

test('every SIP_* code written in the sources is in the catalogue', () => {
  const used = new Set(files(SRC).flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/'(SIP_[A-Z_]+)'/g)].map((m) => m[1] ?? '')));
  assert.ok(used.size > 30, `only ${used.size} codes found`);
  assert.equal(
    [...used].filter((c) => !(c in CATALOGUE)),
    [],
  );
});

test('each code has an error status and an exit code from 1 to 6', () => {
  for (const [code, e] of Object.entries(CATALOGUE)) {
    assert.ok(e.status >= 400 && e.status < 600, code);
    assert.ok(e.exit >= 1 && e.exit <= 6, code);
  }
});

test('what a server answers, a client reads back as a code with the same CLI exit', () => {
  // Marathon: the local server's codes → the status it answers → MarathonApiError's code.
  const marathon: Array<[SipErrorCode, number]> = [
    ['SIP_APP_EXISTS', 4],
    ['SIP_APP_NOT_FOUND', 5],
    ['SIP_MARATHON_INVALID_APP', 3],
  ];
  for (const [server, exit] of marathon) {
    const client = new MarathonApiError(statusOf(server), undefined, 'x');
    assert.is(exitCodeOf(server), exit, server);
    assert.is(exitCodeOf(client.code), exit, `${server} → ${client.code}`);
  }
  assert.is(new MarathonApiError(400, undefined, 'x').code, 'SIP_MARATHON_INVALID', 'Invalid JSON (400) is an invalid definition too');
  // Edge-LB
  for (const server of ['SIP_EDGELB_POOL_INVALID', 'SIP_HAPROXY_CONFIG_INVALID', 'SIP_EDGELB_POOL_EXISTS', 'SIP_EDGELB_POOL_NOT_FOUND'] as const) {
    const client = new EdgeLbApiError(statusOf(server), undefined, 'x');
    assert.is(exitCodeOf(client.code), exitCodeOf(server), `${server} → ${client.code}`);
  }
  // Secrets: the store's own codes survive the round trip.
  for (const code of [SecretErrorCode.notFound, SecretErrorCode.exists, SecretErrorCode.unauthorized, SecretErrorCode.tooLarge]) {
    assert.is(
      codeForStatus(
        statusOf(code),
        [SecretErrorCode.notFound, SecretErrorCode.exists, SecretErrorCode.unauthorized, SecretErrorCode.tooLarge],
        SecretErrorCode.unavailable,
      ),
      code,
    );
  }
});

test('servers show 4xx messages and hide 5xx ones unless the error says otherwise', () => {
  assert.equal(publicError(new SipError('SIP_APP_NOT_FOUND', "App '/a' does not exist")), {
    status: 404,
    code: 'SIP_APP_NOT_FOUND',
    message: "App '/a' does not exist",
  });
  assert.equal(publicError(new SipError('SIP_SECRET_TAMPERED', 'file /state/x is broken')), {
    status: 500,
    code: 'SIP_SECRET_TAMPERED',
    message: 'internal error',
  });
  assert.equal(publicError(new Error('ENOENT /secret/path')), { status: 500, code: undefined, message: 'internal error' });
});

test.run();
