import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findLeaks } from '../src/fixtures/leaks.js';

// The leak check itself: it must see a secret in every shape it claims, and
// the AWS credentials an app assumed on its own, or every suite using it is vacuous.
const ID = 'Demo-External-Id-0123456789';

test('a known secret is found as written, base64, base64url, URL-encoded and JSON-escaped', () => {
  const secret = { kind: 'external id', value: `${ID}/x"y` };
  const texts = {
    raw: `external_id = ${secret.value}`,
    header: `Authorization: Basic ${Buffer.from(secret.value).toString('base64')}`,
    url: `https://x/?id=${encodeURIComponent(secret.value)}`,
    json: JSON.stringify({ msg: 'config', value: secret.value }),
    clean: 'nothing to see here',
  };
  assert.equal(findLeaks(texts, [secret]), [
    'external id (as written) in raw',
    'external id (base64) in header',
    'external id (URL-encoded) in url',
    'external id (JSON-escaped) in json',
  ]);
});

test('basic-auth credentials are found in a logged Authorization header', () => {
  const header = `authorization: Basic ${Buffer.from('testuser:password').toString('base64')}`;
  assert.equal(findLeaks({ log: header }, [{ kind: 'basic auth', value: 'testuser:password' }]), ['basic auth (base64) in log']);
});

test('assumed-role credentials are found by their shape', () => {
  const log = JSON.stringify({
    AccessKeyId: 'ASIA1234567890ABCDEF',
    SecretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    SessionToken: 'FQoGZXIvYXdzEAcaDN1234567890abcdefghij',
  });
  assert.equal(findLeaks({ log }, [], { awsShapes: true }), [
    'AWS access key id (by its shape) in log',
    'AWS session token (by its shape) in log',
    'AWS secret access key (by its shape) in log',
  ]);
  assert.equal(
    findLeaks({ log: '{"msg":"request","id":"V1StGXR8_Z5jdHi6B-myT","sha":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}' }, [], {
      awsShapes: true,
    }),
    [],
    'ids and hashes are not keys',
  );
});

test.run();
