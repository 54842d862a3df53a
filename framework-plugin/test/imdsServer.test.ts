import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pino } from 'pino';
import { startImdsServer, type ImdsServer } from '../src/local/emulator/imdsServer.js';
import type { AwsCredentials } from '../src/local/emulator/credentials.js';

const logger = pino({ level: 'silent' });
const creds: AwsCredentials = {
  accessKeyId: 'ASIAEXAMPLEEXAMPLE01',
  secretAccessKey: 'secret-value-never-logged',
  sessionToken: 'token-value',
  expiration: new Date('2030-01-01T00:00:00Z'),
};

let now = 1_700_000_000_000;
let imds: ImdsServer;
let fail = false;
test.before.each(async () => {
  fail = false;
  imds = await startImdsServer({
    roleName: 'agent',
    logger,
    now: () => now,
    credentials: async () => {
      if (fail) throw new Error(`STS said no for ${creds.secretAccessKey.length} reasons`);
      return creds;
    },
  });
});
test.after.each(async () => {
  await imds.stop();
});

const token = async (ttl: string): Promise<Response> =>
  fetch(`${imds.endpoint}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': ttl } });
const get = (path: string, tok?: string): Promise<Response> => fetch(`${imds.endpoint}${path}`, { headers: tok ? { 'x-aws-ec2-metadata-token': tok } : {} });

test('serves the credentials document the SDK expects', async () => {
  const tok = await (await token('60')).text();
  const res = await get('/latest/meta-data/iam/security-credentials/agent', tok);
  assert.is(res.status, 200);
  const doc = (await res.json()) as Record<string, string>;
  assert.equal(
    { Code: doc.Code, AccessKeyId: doc.AccessKeyId, SecretAccessKey: doc.SecretAccessKey, Token: doc.Token, Expiration: doc.Expiration },
    { Code: 'Success', AccessKeyId: creds.accessKeyId, SecretAccessKey: creds.secretAccessKey, Token: 'token-value', Expiration: '2030-01-01T00:00:00.000Z' },
  );
  assert.is(imds.credentialRequests, 1);
});

test('a token stops working when its TTL has passed', async () => {
  const tok = await (await token('10')).text();
  assert.is((await get('/latest/meta-data/iam/security-credentials/', tok)).status, 200);
  now += 10_000;
  assert.is((await get('/latest/meta-data/iam/security-credentials/', tok)).status, 401);
});

test('TTL must be an integer from 1 to 21600', async () => {
  for (const ttl of ['0', '21601', '1.5', 'abc', '-1']) assert.is((await token(ttl)).status, 400, ttl);
  for (const ttl of ['1', '21600']) assert.is((await token(ttl)).status, 200, ttl);
});

test('IMDSv1 (no token) is refused; GET on the token path is 405', async () => {
  assert.is((await get('/latest/meta-data/iam/security-credentials/agent')).status, 401);
  assert.is((await fetch(`${imds.endpoint}/latest/api/token`)).status, 405);
});

test('a failing credential source is a bare 500: no message, no secret', async () => {
  fail = true;
  const tok = await (await token('60')).text();
  const res = await get('/latest/meta-data/iam/security-credentials/agent', tok);
  assert.is(res.status, 500);
  const text = await res.text();
  assert.is(text, 'internal error');
});

test.run();
