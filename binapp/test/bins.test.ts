import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AUTH, PASS, startTestApp, type TestApp } from './harness.js';
import { failures } from './fakeStore.js';
// The shared leak check (plain Node, no workspace import): the same one the integration suites use.
import { assertNoLeaks } from '../../test/src/fixtures/leaks.js';

let t: TestApp;
test.before.each(async () => {
  t = await startTestApp({ maxBytes: 1024 * 1024 });
});
test.after.each(async () => {
  await t.close();
});

const post = (body: BodyInit, headers: Record<string, string> = {}) =>
  fetch(`${t.server.url}/bin`, { method: 'POST', body, headers: { authorization: AUTH, ...headers } });

test('POST /bin stores the body under bin/<id> and answers 201, Location and "BinID <id>"', async () => {
  const body = randomBytes(200_000);
  const res = await post(body, { 'content-type': 'image/png' });
  assert.is(res.status, 201);
  const text = await res.text();
  const id = /^BinID ([A-Za-z0-9_-]{21})\n$/.exec(text)?.[1];
  assert.ok(id, `body was ${JSON.stringify(text)}`);
  assert.is(res.headers.get('location'), `/bin/${id}`);
  const stored = t.store.objects.get(`bin/${id}`);
  assert.ok(stored?.bytes.equals(body));
  assert.is(stored?.contentType, 'image/png');
});

test('POST /bin answers JSON to a client that accepts JSON', async () => {
  const res = await post('hello', { accept: 'application/json' });
  assert.is(res.status, 201);
  const json = (await res.json()) as { id: string; bytes: number; location: string };
  assert.match(json.id, /^[A-Za-z0-9_-]{21}$/);
  assert.is(json.bytes, 5);
  assert.is(json.location, `/bin/${json.id}`);
});

test('every upload gets a fresh id', async () => {
  const ids = new Set<string>();
  for (let i = 0; i < 20; i++) ids.add(await (await post('x')).text());
  assert.is(ids.size, 20);
});

test('GET /bin/:id streams the object back with its content type', async () => {
  const body = randomBytes(50_000);
  const loc = (await post(body, { 'content-type': 'application/x-thing' })).headers.get('location');
  const res = await fetch(`${t.server.url}${loc}`, { headers: { authorization: AUTH } });
  assert.is(res.status, 200);
  assert.is(res.headers.get('content-type'), 'application/x-thing');
  assert.is(res.headers.get('content-length'), '50000');
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(body));
});

test('GET of an unknown id is 404, of a malformed id 400', async () => {
  let res = await fetch(`${t.server.url}/bin/AAAAAAAAAAAAAAAAAAAAA`, { headers: { authorization: AUTH, accept: 'application/json' } });
  assert.is(res.status, 404);
  assert.is(((await res.json()) as { code: string }).code, 'BINAPP_NOT_FOUND');
  for (const bad of ['short', 'AAAAAAAAAAAAAAAAAAAAA%2F', '..%2F..%2Fetc%2Fpasswd', 'A'.repeat(22)]) {
    res = await fetch(`${t.server.url}/bin/${bad}`, { headers: { authorization: AUTH } });
    assert.is(res.status, 400, bad);
  }
});

test('missing or wrong credentials get 401 with a Basic challenge and store nothing', async () => {
  const cases: Record<string, string | undefined> = {
    none: undefined,
    wrongPass: `Basic ${Buffer.from('testuser:nope').toString('base64')}`,
    wrongUser: `Basic ${Buffer.from(`someone:${PASS}`).toString('base64')}`,
    prefixOfPass: `Basic ${Buffer.from(`testuser:${PASS.slice(0, -1)}`).toString('base64')}`,
    noColon: `Basic ${Buffer.from('testuser').toString('base64')}`,
    bearer: 'Bearer abc',
  };
  for (const [name, header] of Object.entries(cases)) {
    const res = await fetch(`${t.server.url}/bin`, { method: 'POST', body: 'x', headers: header ? { authorization: header } : {} });
    assert.is(res.status, 401, name);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="binapp"/, name);
    const get = await fetch(`${t.server.url}/bin/AAAAAAAAAAAAAAAAAAAAA`, { headers: header ? { authorization: header } : {} });
    assert.is(get.status, 401, `${name} GET`);
  }
  assert.is(t.store.objects.size, 0);
  // binapp's logs hold neither the password nor the credentials in any shape (a logged Authorization header is base64).
  assertNoLeaks({ 'binapp logs': t.logs() }, [
    { kind: 'password', value: PASS },
    { kind: 'basic-auth credentials', value: `testuser:${PASS}` },
  ]);
});

test('a declared Content-Length over the limit is refused with 413 before reading', async () => {
  const res = await post(Buffer.alloc(1024 * 1024 + 1));
  assert.is(res.status, 413);
  assert.is(t.store.objects.size, 0);
  assert.is(t.store.discarded.length, 0, 'the store was never called');
});

test('a streamed (chunked) body over the limit gets 413 and leaves no object', async () => {
  const chunk = Buffer.alloc(64 * 1024, 1);
  let sent = 0;
  const stream = new ReadableStream({
    pull(controller) {
      if (sent >= 2 * 1024 * 1024) return controller.close();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const res = await fetch(`${t.server.url}/bin`, {
    method: 'POST',
    body: stream,
    headers: { authorization: AUTH, accept: 'application/json' },
    duplex: 'half',
  } as RequestInit);
  assert.is(res.status, 413);
  assert.is(((await res.json()) as { code: string }).code, 'BINAPP_PAYLOAD_TOO_LARGE');
  assert.is(t.store.objects.size, 0);
  assert.is(t.store.discarded.length, 1);
  assert.ok((t.store.discarded[0] ?? Infinity) <= 1024 * 1024, 'no byte past the limit reached the store');
});

test('an upload that stalls is ended with 408 and stores nothing', async () => {
  await t.close();
  t = await startTestApp({ maxBytes: 1024 * 1024, bodyIdleTimeoutMs: 300 });
  const started = Date.now();
  const answer = await new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
    const req = request(
      `${t.server.url}/bin`,
      { method: 'POST', headers: { authorization: AUTH, 'transfer-encoding': 'chunked', accept: 'application/json' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
      },
    );
    req.on('error', reject);
    req.write(Buffer.alloc(10_000, 1)); // then nothing: the body stalls
  });
  assert.is(answer.status, 408);
  assert.is((JSON.parse(answer.body) as { code: string }).code, 'BINAPP_BODY_TIMEOUT');
  assert.ok(Date.now() - started < 5000, 'ended by the idle timeout, not by the request timeout');
  assert.is(t.store.objects.size, 0);
  assert.is(t.store.discarded.length, 1, 'the partial body was discarded');
});

test('a client that disconnects mid-upload leaves no object', async () => {
  await new Promise<void>((resolve) => {
    const req = request(`${t.server.url}/bin`, { method: 'POST', headers: { authorization: AUTH, 'transfer-encoding': 'chunked' } });
    req.on('error', () => resolve());
    req.write(Buffer.alloc(100_000, 2));
    setTimeout(() => {
      req.destroy();
      resolve();
    }, 100);
  });
  const deadline = Date.now() + 2000;
  while (t.store.discarded.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.is(t.store.objects.size, 0);
  assert.is(t.store.discarded.length, 1, 'the store saw the body fail');
  assert.match(t.logs(), /BINAPP_CLIENT_ABORTED/);
});

test('STS denial → 502 naming sts:AssumeRole; S3 denial → 502 naming s3:PutObject; S3 outage → 502', async () => {
  const cases = [
    [failures.assumeRoleDenied(), 'BINAPP_UPSTREAM_DENIED', 'sts:AssumeRole'],
    [failures.putDenied(), 'BINAPP_UPSTREAM_DENIED', 's3:PutObject'],
    [failures.s3Down(), 'BINAPP_UPSTREAM_FAILED', 's3:PutObject'],
  ] as const;
  for (const [failure, code, step] of cases) {
    t.store.failWith(failure);
    const res = await post('payload', { accept: 'application/json' });
    assert.is(res.status, 502);
    const body = (await res.json()) as { code: string; step: string; message: string };
    assert.is(body.code, code);
    assert.is(body.step, step);
    assert.match(body.message, step);
    const text = await (await post('payload')).text();
    assert.match(text, new RegExp(`^AWS step ${step} `));
  }
  assert.is(t.store.objects.size, 0);
});

test('GET through a denied store is 502 too', async () => {
  t.store.failWith(failures.assumeRoleDenied());
  const res = await fetch(`${t.server.url}/bin/AAAAAAAAAAAAAAAAAAAAA`, { headers: { authorization: AUTH } });
  assert.is(res.status, 502);
});

test('unknown routes are 404 and wrong methods 405', async () => {
  assert.is((await fetch(`${t.server.url}/nope`)).status, 404);
  assert.is((await fetch(`${t.server.url}/bin`, { method: 'PUT', body: 'x', headers: { authorization: AUTH } })).status, 405);
});

test.run();
