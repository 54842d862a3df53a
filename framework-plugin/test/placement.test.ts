import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAppDefinition } from '../src/core/marathon/appDefinition.js';
import { agentSlots, placeTask, type LocalAgentSpec } from '../src/local/scheduler/placement.js';

// Where the local scheduler puts the next task: an agent still there, with
// room, meeting the app's constraints; among those the one with fewest of the
// app's tasks, then fewest tasks. Pure.

const specs: LocalAgentSpec[] = [
  { id: 'm-S0', hostname: '127.0.0.1', attributes: { rack_id: 'rack-1' } },
  { id: 'm-S1', hostname: '127.0.0.2', attributes: { rack_id: 'rack-1' } },
  { id: 'm-S2', hostname: '127.0.0.3', attributes: { rack_id: 'rack-2' } },
];
const cost = { cpus: 1, mem: 32, ports: 0 };
const offer = { cpus: 2, mem: 1024, ports: 10, tasks: 10 };

test('tasks spread: fewest of the app first, then fewest in all; a full or gone agent is passed over', () => {
  const slots = agentSlots(specs, offer);
  const app = parseAppDefinition({ id: '/a', cmd: 'x' });
  assert.is(placeTask(app, cost, [], slots)?.spec.id, 'm-S0');
  assert.is(placeTask(app, cost, [specs[0]!], slots)?.spec.id, 'm-S1');
  assert.is(placeTask(app, cost, [specs[0]!, specs[1]!], slots)?.spec.id, 'm-S2');
  // Another app's task on S0: a new app prefers the emptier agents.
  slots[0]!.ledger.hold('other', cost);
  assert.is(placeTask(parseAppDefinition({ id: '/b', cmd: 'x' }), cost, [], slots)?.spec.id, 'm-S1');
  // S0 full (2 cpus), S1 gone: S2.
  slots[0]!.ledger.hold('other2', cost);
  slots[1]!.gone = true;
  assert.is(placeTask(app, cost, [], slots)?.spec.id, 'm-S2');
  slots[2]!.gone = true;
  assert.is(placeTask(app, cost, [], slots), undefined, 'nowhere to go: the task waits');
});

test("an app's constraints narrow the agents; none left: the task waits", () => {
  const slots = agentSlots(specs, offer);
  const unique = parseAppDefinition({ id: '/u', cmd: 'x', constraints: [['hostname', 'UNIQUE']] });
  assert.is(placeTask(unique, cost, [specs[0]!, specs[2]!], slots)?.spec.id, 'm-S1');
  assert.is(placeTask(unique, cost, specs, slots), undefined);
  const rack2 = parseAppDefinition({ id: '/r', cmd: 'x', constraints: [['rack_id', 'CLUSTER', 'rack-2']] });
  assert.is(placeTask(rack2, cost, [specs[2]!], slots)?.spec.id, 'm-S2', 'CLUSTER stacks on its agent even when others are emptier');
  const like = parseAppDefinition({ id: '/l', cmd: 'x', constraints: [['hostname', 'LIKE', '127\\.0\\.0\\.[12]']] });
  assert.is(placeTask(like, cost, [specs[0]!], slots)?.spec.id, 'm-S1');
});

test.run();
