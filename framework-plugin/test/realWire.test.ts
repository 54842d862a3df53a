import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../src/log/logger.js';
import { serviceAccountAuth } from '../src/clients/auth/serviceAccount.js';
import { subscribe } from '../src/clients/marathon/eventStream.js';
import { createMesosAgentClient } from '../src/clients/mesos/agentClient.js';
import { guardLoopback } from '../src/delivery/endpoint/upstreamTrust.js';
import { startIamApi } from '../src/local/iam-api/server.js';
import { createTokenIssuer } from '../src/local/iam-api/tokenIssuer.js';
import { commandExecutorName, startMesosAgentApi, MESOS_AGENT_REALM } from '../src/local/mesos-api/server.js';
import { startSecretsServer } from '../src/local/secrets-api/server.js';
import { createDcosSecretsClient } from '../src/stores/dcosSecretsClient.js';
import { createLocalStore } from '../src/stores/localStore.js';
import { basicAuthenticator } from '../src/net/httpAuthenticator.js';
import { basicAuth } from '../src/net/upstreamAuth.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The clients sip agent uses, against what the real servers send: Marathon's
// own event transcript (test/reference/marathon/…/events.txt) framed as
// Jetty's EventSourceServlet writes it, the GET_CONTAINERS example of Mesos's
// operator API docs (test/reference/mesos/), HTTP Basic as Mesos asks for it,
// DC/OS service-account logins with tokens that expire. See test/reference/README.md.

const logger = createLogger({ name: 'real-wire-test', level: 'silent' });
const ref = (p: string): string => readFileSync(new URL(`reference/${p}`, import.meta.url), 'utf8');
const listening = (server: Server | ReturnType<typeof createNetServer>): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

/** The transcript's events as the LF text says, one parsed object each. */
const transcript = ref('marathon/api/v2/examples/events.txt');
const expected = transcript
  .split('\n\n')
  .map((block) => block.split('\n').find((l) => l.startsWith('data: ')))
  .filter((l): l is string => Boolean(l))
  .map((l) => JSON.parse(l.slice(6)) as { eventType: string });

/**
 * A raw server writing the transcript as Jetty's EventSourceServlet does: status,
 * `Connection: close`, no chunking; each line and each event's end CRLF; a heartbeat
 * (`\r`, then `\n`, flushed apart) between events.
 */
function jettyLike(): ReturnType<typeof createNetServer> {
  return createNetServer((socket) => {
    socket.once(
      'data',
      () =>
        void (async () => {
          socket.write('HTTP/1.1 200 OK\r\nDate: Thu, 03 Dec 2026 04:00:00 GMT\r\nContent-Type: text/event-stream;charset=utf-8\r\nConnection: close\r\n\r\n');
          for (const block of transcript.split('\n\n').filter((b) => b.trim())) {
            socket.write(`${block.split('\n').join('\r\n')}\r\n\r\n`);
            socket.write('\r');
            await new Promise((r) => setTimeout(r, 5));
            socket.write('\n');
            await new Promise((r) => setTimeout(r, 5));
          }
        })(),
    );
  });
}

test("Marathon's own event transcript, framed as Jetty writes it (CRLF, split heartbeats), parses event for event", async () => {
  assert.ok(expected.length >= 3, 'the transcript holds events');
  const server = jettyLike();
  const port = await listening(server);
  try {
    const sub = await subscribe(`http://127.0.0.1:${port}`);
    const got = [];
    for (let i = 0; i < expected.length; i++) got.push(await sub.next(() => true, 3000));
    sub.close();
    assert.equal(got, expected);
  } finally {
    server.close();
  }
});

test('a stream that never ends an event is dropped at the cap, not held without bound', async () => {
  const server = createNetServer((socket) => {
    socket.once('data', () => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream;charset=utf-8\r\nConnection: close\r\n\r\ndata: ');
      const chunk = 'x'.repeat(64 * 1024);
      const pump = (): void => {
        while (!socket.destroyed && socket.write(chunk));
        if (!socket.destroyed) socket.once('drain', pump);
      };
      socket.on('error', () => undefined);
      pump();
    });
  });
  const port = await listening(server);
  try {
    const sub = await subscribe(`http://127.0.0.1:${port}`, { maxEventBytes: 256 * 1024 });
    const ended = await sub.ended;
    assert.match(ended.message, 'more than 262144 bytes without ending an event');
  } finally {
    server.close();
  }
});

test("the Mesos docs' GET_CONTAINERS answer is read as agent.proto defines it", async () => {
  const body = ref('mesos/get-containers-response.json');
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  const port = await listening(server);
  try {
    const list = await createMesosAgentClient({ url: `http://127.0.0.1:${port}` }).getContainers();
    assert.equal(list, [
      { containerId: 'f0f97041-1860-4b4a-b279-91fec4e0ebd8', executorId: 'default', frameworkId: 'cbe3c0f1-5655-4110-bc01-ae658a9dbab9-0000' },
    ]);
  } finally {
    server.close();
  }
});

test('the local Mesos agent answers only what agent.proto defines, with HTTP Basic as open-source Mesos asks for it', async () => {
  const cmd = 'while true; do ./binapp; done';
  const api = await startMesosAgentApi({
    source: {
      agentId: 'a1-S0',
      hostname: '127.0.0.1',
      containers: () => [
        {
          containerId: 'c-1',
          taskId: 'web.instance-1._app.1',
          frameworkId: 'fw-0001',
          command: cmd,
          pid: 4242,
          directory: '/var/lib/mesos/slave/slaves/a1-S0/frameworks/fw-0001/executors/web.instance-1._app.1/runs/c-1',
        },
      ],
    },
    authenticator: basicAuthenticator([{ principal: 'sip-agent', secret: 'Secret-Basic-1' }], MESOS_AGENT_REALM),
    logger,
  });
  try {
    const call = (auth: string | undefined, body: string, type = 'application/json'): Promise<Response> =>
      fetch(`${api.url}/api/v1`, { method: 'POST', headers: { 'content-type': type, ...(auth ? { authorization: auth } : {}) }, body });
    const basic = `Basic ${Buffer.from('sip-agent:Secret-Basic-1').toString('base64')}`;
    const denied = await call(undefined, '{"type":"GET_CONTAINERS"}');
    assert.is(denied.status, 401);
    assert.is(denied.headers.get('www-authenticate'), 'Basic realm="mesos-agent-readwrite"');
    assert.is(await denied.text(), '');
    const ok = (await (await call(basic, '{"type":"GET_CONTAINERS","get_containers":{"show_nested":true}}')).json()) as any;
    const docs = JSON.parse(ref('mesos/get-containers-response.json'));
    const protoFields = new Set(['framework_id', 'executor_id', 'executor_name', 'container_id', 'container_status', 'resource_statistics']);
    for (const key of Object.keys(ok.get_containers.containers[0])) assert.ok(protoFields.has(key), `${key} is a field of Response.GetContainers.Container`);
    assert.equal(Object.keys(ok), Object.keys(docs));
    assert.is(ok.get_containers.containers[0].executor_name, "Command Executor (Task: web.instance-1._app.1) (Command: sh -c 'while true; ...')");
    assert.is(ok.get_containers.containers[0].container_status.executor_pid, 4242);
    assert.is(commandExecutorName('t', 'sleep 10'), "Command Executor (Task: t) (Command: sh -c 'sleep 10')");
    assert.is(((await (await call(basic, '{"type":"GET_AGENT"}')).json()) as any).get_agent.agent_info.id.value, 'a1-S0');
    // Mesos's own plain-text errors.
    const bad = await call(basic, '{nope');
    assert.is(bad.status, 400);
    assert.match(await bad.text(), /^Failed to parse body into Call: /);
    const get = await fetch(`${api.url}/api/v1`, { headers: { authorization: basic } });
    assert.is(get.status, 405);
    assert.is(await get.text(), "Expecting one of { 'POST' }, but received 'GET'");
    // Our client: Basic works; a wrong secret names the challenge and never the secret.
    const client = createMesosAgentClient({ url: api.url, auth: basicAuth('sip-agent', 'Secret-Basic-1') });
    assert.is((await client.getContainers())[0]?.executorPid, 4242);
    assert.is(await client.getAgentId(), 'a1-S0');
    const wrong = await createMesosAgentClient({ url: api.url, auth: basicAuth('sip-agent', 'Wrong-Secret-2') })
      .getContainers()
      .catch((e: Error) => e);
    assert.match(
      (wrong as Error).message,
      'answered HTTP 401 to GET_CONTAINERS (HTTP Basic as principal sip-agent refused; challenge: Basic realm="mesos-agent-readwrite")',
    );
    assert.not.match((wrong as Error).message, /Secret-Basic-1|Wrong-Secret-2/);
    // /state: where each executor's sandbox is (the v1 API does not say), behind the same authentication.
    assert.is((await fetch(`${api.url}/state`)).status, 401);
    const state = (await (await fetch(`${api.url}/state`, { headers: { authorization: basic } })).json()) as any;
    const executorWriter = new Set([
      'id',
      'name',
      'source',
      'container',
      'directory',
      'resources',
      'role',
      'labels',
      'type',
      'tasks',
      'queued_tasks',
      'completed_tasks',
    ]);
    for (const key of Object.keys(state.frameworks[0].executors[0]))
      assert.ok(executorWriter.has(key), `${key} is a field ExecutorWriter writes (src/slave/http.cpp)`);
    assert.equal(
      [...(await client.getSandboxes())],
      [['c-1', '/var/lib/mesos/slave/slaves/a1-S0/frameworks/fw-0001/executors/web.instance-1._app.1/runs/c-1']],
    );
  } finally {
    await api.stop();
  }
});

test('a DC/OS service account logs in, renews before its token expires and once on a 401; a wrong key is refused', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  let serverClock = Date.now();
  let clientClock = serverClock;
  const issuer = createTokenIssuer({ key: Buffer.from('k'.repeat(32)), lifetimeSeconds: 30, now: () => serverClock });
  const iam = await startIamApi({ accounts: new Map([['sip-agent', publicKey]]), issuer, token: 'superuser-token', logger, now: () => serverClock });
  const store = createLocalStore({ dir: mkdtempSync(join(tmpdir(), 'sip-wire-store-')) });
  const secrets = await startSecretsServer({ store, token: 'superuser-token', issued: issuer.verify, logger });
  try {
    const auth = serviceAccountAuth({ clusterUrl: iam.url, uid: 'sip-agent', privateKey, now: () => clientClock });
    const client = createDcosSecretsClient({ url: secrets.url, auth });
    await store.create('/team/aws-config', 'value-1');
    assert.is(await client.get('/team/aws-config'), 'value-1');
    const first = await auth.header();
    serverClock = clientClock += 20_000;
    assert.is(await auth.header(), first, 'still valid: no new login');
    serverClock = clientClock += 8_000; // within the renewal margin (a tenth of 30 s) before exp
    const second = await auth.header();
    assert.is.not(second, first, 'renewed before it expired');
    // The server's clock runs ahead: it refuses the token the client still trusts; one 401 renews it.
    serverClock += 40_000;
    assert.is(await client.get('/team/aws-config'), 'value-1', 'a 401 renews once and retries');
    assert.is.not(await auth.header(), second);
    // Another key for the same uid: refused, with the reason, never the key.
    const other = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey;
    const refused = await serviceAccountAuth({ clusterUrl: iam.url, uid: 'sip-agent', privateKey: other, now: () => serverClock })
      .header()
      .catch((e: Error & { code?: string }) => e);
    assert.is((refused as { code?: string }).code, 'SIP_UNAUTHORIZED');
    assert.match((refused as Error).message, 'login of service account sip-agent was refused (HTTP 401');
    assert.not.match((refused as Error).message, /PRIVATE KEY/);
  } finally {
    await secrets.stop();
    await iam.stop();
  }
});

test('a loopback upstream held by a non-root uid is never sent the credential', async () => {
  if (process.getuid?.() !== 0) return void process.stdout.write('\n  NOT CHECKED (not root): a squatter uid\n');
  // A squatter as nobody (65534) on a port nothing else holds.
  const squatter = spawn(
    process.execPath,
    [
      '-e',
      "const s=require('net').createServer(c=>{c.on('data',d=>process.stdout.write(String(d)));}).listen(0,'127.0.0.1',()=>console.log('port '+s.address().port))",
    ],
    { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let seen = '';
  squatter.stdout!.on('data', (d: Buffer) => (seen += d));
  try {
    for (let i = 0; i < 100 && !/port \d+/.test(seen); i++) await new Promise((r) => setTimeout(r, 50));
    const port = Number(/port (\d+)/.exec(seen)![1]);
    const guarded = guardLoopback('the Mesos agent', new URL(`http://127.0.0.1:${port}`), basicAuth('sip-agent', 'Never-Sent-3'), {
      insecureHttp: false,
      allowedUids: [],
    });
    const err = await createMesosAgentClient({ url: `http://127.0.0.1:${port}`, auth: guarded! })
      .getContainers()
      .catch((e: Error) => e);
    assert.match((err as Error).message, `is held by uid 65534, not root: a process there could stand in for it; the credential was not sent`);
    await new Promise((r) => setTimeout(r, 200));
    assert.not.match(seen, /Authorization|POST/i, 'the squatter received nothing');
    // Allowed explicitly: then it is used.
    const allowed = guardLoopback('the Mesos agent', new URL(`http://127.0.0.1:${port}`), undefined, { insecureHttp: false, allowedUids: [65534] });
    assert.is(await allowed!.header(), undefined);
  } finally {
    squatter.kill();
  }
});

test.run();
