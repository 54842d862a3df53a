import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AUTH, startTestApp, type TestApp } from './harness.js';
import { failures } from './fakeStore.js';

let t: TestApp;
test.before.each(async () => {
  t = await startTestApp();
});
test.after.each(async () => {
  await t.close();
});

test('GET /ping is 200 when the bucket is reachable', async () => {
  const res = await fetch(`${t.server.url}/ping`);
  assert.is(res.status, 200);
  assert.is(await res.text(), 'Pong!\n');
});

test('GET /ping is 503 with the failing step when credentials are refused', async () => {
  t.store.failWith(failures.assumeRoleDenied());
  const res = await fetch(`${t.server.url}/ping`);
  assert.is(res.status, 503);
  assert.is(await res.text(), 'bucket not reachable: sts:AssumeRole was denied (AccessDenied)\n');
});

test('GET /ping is 503 while draining, /healthz stays 200', async () => {
  t.draining.value = true;
  assert.is((await fetch(`${t.server.url}/ping`)).status, 503);
  const live = await fetch(`${t.server.url}/healthz`);
  assert.is(live.status, 200);
});

test('GET /metrics counts requests, bytes, upload latency and S3 errors', async () => {
  await fetch(`${t.server.url}/bin`, { method: 'POST', body: 'twelve bytes', headers: { authorization: AUTH } });
  t.store.failWith(failures.putDenied());
  await fetch(`${t.server.url}/bin`, { method: 'POST', body: 'x', headers: { authorization: AUTH } });
  const res = await fetch(`${t.server.url}/metrics`);
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  const text = await res.text();
  assert.match(text, /binapp_http_requests_total\{method="POST",route="\/bin",status="201"\} 1/);
  assert.match(text, /binapp_http_requests_total\{method="POST",route="\/bin",status="502"\} 1/);
  assert.match(text, /binapp_uploaded_bytes_total 12/);
  assert.match(text, /binapp_upload_duration_seconds_count\{outcome="stored"\} 1/);
  assert.match(text, /binapp_s3_errors_total\{step="s3:PutObject",code="AccessDenied"\} 1/);
});

test.run();
