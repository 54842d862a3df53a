import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseMasterTasks } from '../src/clients/mesos/masterTasks.js';
import { taskOnNode, type MarathonTask, type MastersView } from '../src/core/agent/taskOnNode.js';
import type { TaskView } from '../src/core/marathon/views.js';
import { createMesosMasterApi } from '../src/local/mesos-master-api/server.js';

// sip server's first question, "does task T run on the node that asks?",
// answered from the Mesos master's GET_TASKS (the docs' own example, and the
// local master stand-in's answer, read by the same parser) and Marathon's record.

const docs = JSON.parse(readFileSync(new URL('./reference/mesos/get-tasks-response.json', import.meta.url), 'utf8'));
const DOC_AGENT = 'd4bd102f-e25f-46dc-bb5d-8b10bca133d8-S0';
const DOC_FRAMEWORK = 'd4bd102f-e25f-46dc-bb5d-8b10bca133d8-0000';

test("the master's GET_TASKS example (operator-http-api.md) parses to its task, agent, framework and state", () => {
  assert.equal(parseMasterTasks(docs), [{ taskId: '1', agentId: DOC_AGENT, frameworkId: DOC_FRAMEWORK, state: 'TASK_RUNNING' }]);
  assert.equal(parseMasterTasks({ get_tasks: { tasks: [{ task_id: { value: 'x' } }] } }), [], 'an entry without its agent is no task');
  assert.equal(parseMasterTasks('nonsense'), []);
});

const view = (over: Partial<MastersView> = {}, marathon: Partial<MarathonTask> = {}): MastersView => ({
  masterTasks: parseMasterTasks(docs),
  marathonFrameworkId: DOC_FRAMEWORK,
  marathonTask: { taskId: '1', appId: '/tenant/app', agentId: DOC_AGENT, state: 'TASK_RUNNING', ...marathon },
  ...over,
});

test('granted only where the master and Marathon both place the task on the asking node', () => {
  assert.equal(taskOnNode(DOC_AGENT, '1', view()), { ok: true, appId: '/tenant/app' });
  const cases: Array<[string, string, MastersView, string, string]> = [
    ['another node asks', 'other-S1', view(), 'SIP_SERVER_NOT_ON_NODE', 'runs on another agent than other-S1'],
    ['an unknown task', DOC_AGENT, view({}, { taskId: '2' }), 'SIP_SERVER_NOT_RUNNING', 'lists no task 2'],
    ['another framework', DOC_AGENT, view({ marathonFrameworkId: 'marathon-0001' }), 'SIP_SERVER_NOT_MARATHON', "not Marathon's"],
    ['Marathon does not know it', DOC_AGENT, view({ marathonTask: undefined }), 'SIP_SERVER_NOT_MARATHON', 'Marathon has no task 1'],
    ['Marathon places it elsewhere', DOC_AGENT, view({}, { agentId: 'other-S1' }), 'SIP_SERVER_NOT_ON_NODE', 'Marathon places task 1'],
    ['ended in Marathon', DOC_AGENT, view({}, { state: 'TASK_KILLED' }), 'SIP_SERVER_NOT_RUNNING', 'TASK_KILLED'],
    [
      'ended in the master',
      DOC_AGENT,
      view({ masterTasks: [{ taskId: '1', agentId: DOC_AGENT, frameworkId: DOC_FRAMEWORK, state: 'TASK_FINISHED' }] }),
      'SIP_SERVER_NOT_RUNNING',
      'TASK_FINISHED',
    ],
  ];
  for (const [what, node, v, code, reason] of cases) {
    const r = taskOnNode(node, what === 'an unknown task' ? '2' : '1', v);
    assert.is(r.ok, false, what);
    if (!r.ok) {
      assert.is(r.code, code, what);
      assert.match(r.reason, reason, what);
    }
  }
});

test("the local master stand-in answers GET_TASKS in the docs' shape: the same parser finds each task on its agent", async () => {
  const tasks: TaskView[] = [
    {
      id: 'tenant_app.instance-1._app.1',
      appId: '/tenant/app',
      host: '127.0.0.2',
      ports: [31000],
      servicePorts: [10000],
      ipAddresses: [{ ipAddress: '127.0.0.2', protocol: 'IPv4' }],
      role: '*',
      slaveId: 'm-S1',
      stagedAt: new Date().toISOString(),
      startedAt: new Date().toISOString(),
      version: new Date().toISOString(),
      state: 'TASK_RUNNING',
      healthCheckResults: [],
    },
  ];
  const api = createMesosMasterApi({
    source: { agents: () => [], tasks: () => tasks, frameworkId: 'fw-0000', markGone: async () => undefined },
    logger: pino({ level: 'silent' }, new Writable({ write: (_c, _e, cb) => cb() })),
  });
  const server = api.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const port = (server.address() as { port: number }).port;
    const res = await fetch(`http://127.0.0.1:${port}/api/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"type":"GET_TASKS"}',
    });
    const answer = await res.json();
    // Every key the docs' task has, ours has too (where it applies to a command task).
    const docKeys = Object.keys(docs.get_tasks.tasks[0]).filter((k) => !['executor_id', 'status_update_uuid'].includes(k));
    for (const k of docKeys) assert.ok(k in answer.get_tasks.tasks[0], `the stand-in's task has ${k}`);
    assert.equal(parseMasterTasks(answer), [{ taskId: tasks[0]!.id, agentId: 'm-S1', frameworkId: 'fw-0000', state: 'TASK_RUNNING' }]);
    const marathonTask = { taskId: tasks[0]!.id, appId: '/tenant/app', agentId: 'm-S1', state: 'TASK_RUNNING' };
    assert.equal(taskOnNode('m-S1', tasks[0]!.id, { masterTasks: parseMasterTasks(answer), marathonFrameworkId: 'fw-0000', marathonTask }), {
      ok: true,
      appId: '/tenant/app',
    });
    assert.is(taskOnNode('m-S0', tasks[0]!.id, { masterTasks: parseMasterTasks(answer), marathonFrameworkId: 'fw-0000', marathonTask }).ok, false);
  } finally {
    server.close();
  }
});

test.run();
