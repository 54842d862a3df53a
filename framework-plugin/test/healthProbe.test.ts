import { createServer as createHttp } from 'node:http';
import { createServer as createTcp } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { probe } from '../src/local/launcher/healthCheck.js';
import type { HealthCheck } from '../src/core/marathon/appDefinition.js';

const hc = (over: Partial<HealthCheck>): HealthCheck =>
  ({
    protocol: 'HTTP',
    gracePeriodSeconds: 0,
    intervalSeconds: 1,
    timeoutSeconds: 1,
    maxConsecutiveFailures: 3,
    delaySeconds: 0,
    portIndex: 0,
    ...over,
  }) as HealthCheck;
const target = (ports: number[]) => ({ host: '127.0.0.1', ports, sandbox: tmpdir(), env: { PATH: process.env.PATH ?? '', WANT: 'yes' } });

test('HTTP and MESOS_HTTP: 2xx/3xx healthy, 5xx and refused not', async () => {
  const server = createHttp((req, res) => {
    res.statusCode = req.url === '/ok' ? 200 : req.url === '/moved' ? 302 : 503;
    res.end();
  }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  assert.equal(await probe(hc({ protocol: 'MESOS_HTTP', path: '/ok' }), target([port])), { ok: true });
  assert.equal(await probe(hc({ protocol: 'HTTP', path: '/moved' }), target([port])), { ok: true });
  assert.equal(await probe(hc({ protocol: 'HTTP', path: '/down' }), target([port])), { ok: false, reason: 'HTTP 503' });
  server.close();
  assert.equal(await probe(hc({ protocol: 'HTTP', path: '/ok' }), target([port])), { ok: false, reason: 'connection failed' });
});

test('portIndex picks the task port; an explicit port wins', async () => {
  const server = createHttp((_req, res) => res.end()).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  assert.ok((await probe(hc({ portIndex: 1, path: '/' }), target([1, port]))).ok);
  assert.ok((await probe(hc({ port, path: '/' }), target([1]))).ok);
  assert.equal(await probe(hc({ portIndex: 3 }), target([port])), { ok: false, reason: 'no port to probe' });
  server.close();
});

test('TCP and MESOS_TCP: a connection is healthy', async () => {
  const server = createTcp((s) => s.end()).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  assert.ok((await probe(hc({ protocol: 'MESOS_TCP' }), target([port]))).ok);
  server.close();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await probe(hc({ protocol: 'TCP' }), target([port])), { ok: false, reason: 'connection refused' });
});

test('COMMAND: exit 0 healthy, in the task environment, killed at the timeout', async () => {
  assert.ok((await probe(hc({ protocol: 'COMMAND', command: { value: 'test "$WANT" = yes' } }), target([]))).ok);
  assert.equal(await probe(hc({ protocol: 'COMMAND', command: { value: 'exit 3' } }), target([])), { ok: false, reason: 'exit code 3' });
  const slow = await probe(hc({ protocol: 'COMMAND', command: { value: 'sleep 5' }, timeoutSeconds: 1 }), target([]));
  assert.is(slow.ok, false);
  assert.match((slow as { reason: string }).reason, 'after 1000 ms');
});

test.run();
