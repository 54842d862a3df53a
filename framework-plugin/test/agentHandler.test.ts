import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAppDefinition } from '../src/core/marathon/appDefinition.js';
import type { AssumeRequest } from '../src/core/agent/credentialCache.js';
import { AgentError } from '../src/core/agent/errors.js';
import { createAgentHandler, type Denial } from '../src/delivery/endpoint/agentServer.js';
import { taskToken } from '../src/delivery/endpoint/taskToken.js';
import type { Caller } from '../src/delivery/endpoint/taskLocator.js';

// The ECS endpoint's handler with fakes for the locator, the roles and the
// cache: what a task, a forger, a proxy and a neighbour each get, and what
// reaches STS.

const TASK = 'team_web.instance-3f2a9c1e-aaaa-bbbb-cccc-000000000000._app.1';
const KEY = Buffer.alloc(32, 3);
const caller: Caller = { taskId: TASK, appId: '/team/web', containerId: 'c-1', frameworkId: 'fw', pid: 1, uid: 2000001 };
const app = parseAppDefinition({ id: '/team/web', cmd: 'x' });
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY';

async function serve(
  overrides: { locate?: () => Promise<Caller> } = {},
): Promise<{ url: string; server: Server; asked: AssumeRequest[]; located: { n: number }; denials: Denial[] }> {
  const asked: AssumeRequest[] = [];
  const located = { n: 0 };
  const denials: Denial[] = [];
  const handler = createAgentHandler({
    locator: {
      taskIds: async () => [TASK],
      locate: async () => {
        located.n++;
        return (overrides.locate ?? (async () => caller))();
      },
    },
    roles: {
      roleFor: async () => ({ app, role: { roleArn: 'arn:aws:iam::123456789012:role/sip-apps/web', externalId: 'ext-9', durationSeconds: 1800 } }),
      forgetTask: () => undefined,
      tasks: () => new Set(),
    },
    cache: {
      get: async (r) => {
        asked.push(r);
        return {
          credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: SECRET, sessionToken: 'tok', expiration: new Date('2030-01-01T00:00:00Z') },
          cached: false,
        };
      },
      forgetTask: () => undefined,
      tasks: () => new Set(),
      stats: () => ({ entries: 0, hits: 0, stsCalls: 0, stsFailures: 0 }),
    },
    logger: pino({ level: 'silent' }),
    taskTokenKey: KEY,
    onDenied: (d) => denials.push(d),
  });
  const server = createServer(handler.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, asked, located, denials };
}

function get(url: string, headers: Record<string, string> = {}, path = '/v1/credentials'): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test("the task with its own token gets the ECS answer; STS is asked for its app's role, session and duration", async () => {
  const s = await serve();
  try {
    const r = await get(s.url, { authorization: taskToken(KEY, TASK) });
    assert.is(r.status, 200);
    assert.equal(Object.keys(r.body).sort(), ['AccessKeyId', 'Expiration', 'RoleArn', 'SecretAccessKey', 'Token']);
    assert.is(r.body.Expiration, '2030-01-01T00:00:00.000Z');
    const sent = s.asked[0]!;
    assert.is(sent.externalId, 'ext-9');
    assert.is(sent.durationSeconds, 1800, "the app's duration_seconds reaches STS");
    assert.is(sent.sessionName, 'team.web@3f2a9c1e');
    assert.equal(sent.tags, { 'marathon-app': '/team/web', 'mesos-task': TASK });
  } finally {
    s.server.close();
  }
});

test('no token, a forged one or another task’s: refused, a forged one before any /proc lookup; errors are ECS-shaped', async () => {
  const s = await serve();
  try {
    for (const headers of [{}, { authorization: 'x'.repeat(43) }] as Array<Record<string, string>>) {
      const r = await get(s.url, headers);
      assert.is(r.status, 403);
      assert.equal(Object.keys(r.body).sort(), ['Code', 'Message']);
      assert.is(r.body.Code, 'SIP_AGENT_TOKEN_INVALID');
    }
    assert.is(s.located.n, 0, 'nobody was located');
    const other = await serve({ locate: async () => ({ ...caller, taskId: 'other.instance-1._app.1' }) });
    try {
      const r = await get(other.url, { authorization: taskToken(KEY, TASK) });
      assert.is(r.body.Code, 'SIP_AGENT_TOKEN_INVALID');
      assert.match(r.body.Message, 'does not carry the token of task other.instance-1._app.1');
      assert.is(other.asked.length, 0, 'STS never asked');
    } finally {
      other.server.close();
    }
    assert.ok(s.denials.length >= 2 && s.denials.every((d) => d.code === 'SIP_AGENT_TOKEN_INVALID'), 'denials reported through onDenied');
  } finally {
    s.server.close();
  }
});

test('a foreign Host, another path, an unknown caller: refused with the reason, never a credential', async () => {
  const s = await serve({ locate: async () => Promise.reject(new AgentError('SIP_AGENT_UNKNOWN_CALLER', 'the caller is not a running task: test')) });
  try {
    const token = taskToken(KEY, TASK);
    const rebound = await get(s.url, { authorization: token, host: 'evil.example:80' });
    assert.is(rebound.body.Code, 'SIP_AGENT_FOREIGN_HOST');
    const path = await get(s.url, { authorization: token }, '/v2/credentials');
    assert.is(path.status, 404);
    const unknown = await get(s.url, { authorization: token });
    assert.is(unknown.body.Code, 'SIP_AGENT_UNKNOWN_CALLER');
    assert.not.match(JSON.stringify([rebound, path, unknown]), SECRET);
  } finally {
    s.server.close();
  }
});

test.run();
