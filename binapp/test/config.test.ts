import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../src/config/config.js';
import { BinappConfigError } from '../src/errors.js';

const SECRET = 's3cr3t-Pa55';
const noFile = (): string => {
  throw Object.assign(new Error('nope'), { code: 'ENOENT' });
};
const good = { BINAPP_BUCKET: 'my-bucket', BINAPP_USER: 'testuser', BINAPP_PASS: SECRET };

function problems(env: Record<string, string | undefined>, read = noFile): string[] {
  try {
    loadConfig(env, read);
  } catch (err) {
    assert.instance(err, BinappConfigError);
    const e = err as BinappConfigError;
    assert.is(e.code, 'BINAPP_CONFIG_INVALID');
    assert.not.match(e.message, SECRET);
    return [...e.problems];
  }
  assert.unreachable('config was accepted');
  return [];
}

test('defaults: prefix bin, port 8000, 1 GiB limit; frozen', () => {
  const c = loadConfig(good, noFile);
  assert.equal(
    { bucket: c.bucket, user: c.user, pass: c.pass, prefix: c.prefix, port: c.port, maxBytes: c.maxBytes },
    { bucket: 'my-bucket', user: 'testuser', pass: SECRET, prefix: 'bin', port: 8000, maxBytes: 1024 ** 3 },
  );
  assert.ok(Object.isFrozen(c));
});

test('PORT0 (Marathon) wins over PORT', () => {
  assert.is(loadConfig({ ...good, PORT: '9000' }, noFile).port, 9000);
  assert.is(loadConfig({ ...good, PORT: '9000', PORT0: '31005' }, noFile).port, 31005);
});

test('BINAPP_PASS_FILE is read, trailing newline dropped', () => {
  const c = loadConfig({ BINAPP_BUCKET: 'my-bucket', BINAPP_USER: 'u', BINAPP_PASS_FILE: '/run/pass' }, (p) => {
    assert.is(p, '/run/pass');
    return `${SECRET}\n`;
  });
  assert.is(c.pass, SECRET);
});

test('every missing or bad variable is named, with no value echoed', () => {
  const p = problems({ BINAPP_BUCKET: 'Bad_Bucket', PORT0: 'http', BINAPP_MAX_BYTES: '-1', BINAPP_PREFIX: '/bin/' });
  const text = p.join('\n');
  for (const name of ['BINAPP_BUCKET', 'BINAPP_USER', 'PORT0', 'BINAPP_MAX_BYTES', 'BINAPP_PREFIX']) assert.match(text, name);
});

test('password: exactly one of BINAPP_PASS and BINAPP_PASS_FILE, file must be readable and non-empty', () => {
  assert.match(problems({ BINAPP_BUCKET: 'my-bucket', BINAPP_USER: 'u' }).join(), 'BINAPP_PASS or BINAPP_PASS_FILE: required');
  assert.match(problems({ ...good, BINAPP_PASS_FILE: '/x' }).join(), 'set only one of them');
  assert.match(problems({ BINAPP_BUCKET: 'my-bucket', BINAPP_USER: 'u', BINAPP_PASS_FILE: '/missing' }).join(), 'cannot read /missing (ENOENT)');
  assert.match(problems({ BINAPP_BUCKET: 'my-bucket', BINAPP_USER: 'u', BINAPP_PASS_FILE: '/e' }, () => '\n').join(), 'the file is empty');
});

test('static AWS keys in the environment are refused without echoing them', () => {
  const key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const p = problems({ ...good, AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: key });
  assert.match(p.join(), 'AWS_ACCESS_KEY_ID: static AWS keys are refused');
  assert.match(p.join(), 'AWS_SECRET_ACCESS_KEY');
  assert.not.match(p.join(), key);
  assert.not.match(p.join(), 'AKIAIOSFODNN7EXAMPLE');
});

test('listen address: BINAPP_HOST, else the HOST Mesos gives the task (loopback on the local cluster), else all interfaces', () => {
  assert.is(loadConfig({ ...good, HOST: '127.0.0.1' }, noFile).host, '127.0.0.1');
  assert.is(loadConfig({ ...good, HOST: '127.0.0.1', BINAPP_HOST: '10.0.0.5' }, noFile).host, '10.0.0.5');
  assert.is(loadConfig(good, noFile).host, '0.0.0.0');
});

test('timeouts: body idle 30 s, headers 20 s, whole request 1 h by default; each configurable and checked', () => {
  const c = loadConfig(good, noFile);
  assert.equal([c.bodyIdleTimeoutMs, c.headersTimeoutMs, c.requestTimeoutMs], [30_000, 20_000, 3_600_000]);
  assert.is(loadConfig({ ...good, BINAPP_BODY_IDLE_TIMEOUT_MS: '500' }, noFile).bodyIdleTimeoutMs, 500);
  assert.ok(problems({ ...good, BINAPP_BODY_IDLE_TIMEOUT_MS: '0' }).some((p) => p.startsWith('BINAPP_BODY_IDLE_TIMEOUT_MS')));
});

test.run();
