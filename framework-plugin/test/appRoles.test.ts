import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAppRoles, type MarathonReader } from '../src/delivery/endpoint/appRole.js';
import type { Caller } from '../src/delivery/endpoint/taskLocator.js';

// createAppRoles with fakes: Marathon's record decides whose task it is; a
// decision is reused, served while decided again past its time, and a
// refusal then holds (never the old role again).

const TASK = 'team_web.instance-3f2a9c1e-aaaa-bbbb-cccc-000000000000._app.1';
const caller: Caller = { taskId: TASK, appId: '/team/web', containerId: 'c-1', frameworkId: 'marathon-fw', pid: 42, uid: 2000001 };
const ROLE = 'arn:aws:iam::123456789012:role/sip-apps/web';

function fakeMarathon(): MarathonReader & { calls: number; app: Record<string, any> | undefined } {
  const m = {
    calls: 0,
    app: { id: '/team/web', cmd: 'x', tasks: [{ id: TASK, state: 'TASK_RUNNING', appId: '/team/web', slaveId: 'agent-S1' }] } as
      Record<string, any> | undefined,
    async getApp(id: string) {
      m.calls++;
      if (!m.app || m.app.id !== id) throw Object.assign(new Error('not found'), { code: 'SIP_MARATHON_NOT_FOUND' });
      return m.app;
    },
    async info() {
      return { frameworkId: 'marathon-fw' };
    },
  };
  return m;
}

const setup = () => {
  let t = 1_000_000;
  const marathon = fakeMarathon();
  const roles = createAppRoles({
    marathon,
    source: { kind: 'policy', policy: { rules: [{ group: '/team', roleArn: ROLE, externalId: 'ext-123' }] } },
    agentId: async () => 'agent-S1',
    ttlMs: 10_000,
    now: () => t,
  });
  return { roles, marathon, advance: (ms: number) => (t += ms) };
};
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

test("Marathon's record decides: a task of another framework, another agent or not running gets no role", async () => {
  const { roles, marathon } = setup();
  assert.is((await roles.roleFor(caller)).role.roleArn, ROLE);
  const other = await roles.roleFor({ ...caller, frameworkId: 'evil-fw' }).catch((e: { code?: string }) => e.code);
  assert.is(other, 'SIP_AGENT_UNKNOWN_CALLER');
  marathon.app!.tasks[0].slaveId = 'agent-S9';
  const elsewhere = await roles.roleFor({ ...caller, containerId: 'c-2' }).catch((e: Error) => e.message);
  assert.match(String(elsewhere), 'not on this agent (agent-S1)');
});

test('a decision is reused for its time, then served while decided again in the background', async () => {
  const { roles, marathon, advance } = setup();
  await roles.roleFor(caller);
  await roles.roleFor(caller);
  assert.is(marathon.calls, 1, 'reused within 10 s');
  advance(10_001);
  assert.is((await roles.roleFor(caller)).role.roleArn, ROLE, 'the role granted before answers meanwhile');
  await settle();
  assert.is(marathon.calls, 2, 'decided again in the background');
  await roles.roleFor(caller);
  assert.is(marathon.calls, 2, 'the new decision is reused');
});

test('past its time, a role whose app is gone is served once while decided again, then refused, and never again', async () => {
  const { roles, marathon, advance } = setup();
  await roles.roleFor(caller);
  advance(10_001);
  marathon.app = undefined; // the app was removed
  assert.is((await roles.roleFor(caller)).role.roleArn, ROLE);
  await settle();
  const refused = await roles.roleFor(caller).catch((e: { code?: string }) => e.code);
  assert.is(refused, 'SIP_AGENT_UNKNOWN_CALLER');
  advance(10_001);
  const later = await roles.roleFor(caller).catch((e: { code?: string }) => e.code);
  assert.is(later, 'SIP_AGENT_UNKNOWN_CALLER', 'the refusal is decided again, not the old role served');
});

test("a task's end drops its decision; Marathon down keeps a decided task's role", async () => {
  const { roles, marathon, advance } = setup();
  await roles.roleFor(caller);
  assert.equal([...roles.tasks()], [TASK]);
  roles.forgetTask(TASK);
  assert.equal([...roles.tasks()], []);
  await roles.roleFor(caller);
  advance(10_001);
  marathon.getApp = async () => {
    throw Object.assign(new Error('down'), { code: 'SIP_MARATHON_UNREACHABLE' });
  };
  assert.is((await roles.roleFor(caller)).role.roleArn, ROLE);
  await settle();
  assert.is((await roles.roleFor(caller)).role.roleArn, ROLE, 'still, through the outage');
});

test.run();
