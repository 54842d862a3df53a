import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { meetsAll, meetsConstraint, readConstraints, type Constraint, type Placement } from '../src/core/marathon/constraints.js';
import { parseAppDefinition } from '../src/core/marathon/appDefinition.js';
import { MarathonValidationError } from '../src/core/marathon/validationError.js';

// Marathon's placement constraints, checked against the semantics of its own
// Constraints.scala (mesosphere/marathon, Apache-2.0) on the examples of its
// docs/constraints.md: three agents, two racks.

const a: Placement = { hostname: '127.0.0.2', attributes: { rack_id: 'rack-1' } };
const b: Placement = { hostname: '127.0.0.3', attributes: { rack_id: 'rack-1' } };
const c: Placement = { hostname: '127.0.0.4', attributes: { rack_id: 'rack-2', gpu: 'yes' } };
const agents = [a, b, c];
const ok = (placed: Placement[], cs: Constraint[]): string[] => agents.filter((o) => meetsAll(placed, o, cs)).map((o) => o.hostname);

test('UNIQUE hostname: one task per agent; UNIQUE on an attribute: one per value', () => {
  const unique: Constraint = { field: 'hostname', operator: 'UNIQUE' };
  assert.equal(ok([], [unique]), ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  assert.equal(ok([a], [unique]), ['127.0.0.3', '127.0.0.4']);
  assert.equal(ok([a, b, c], [unique]), [], 'a fourth instance waits');
  assert.equal(ok([a], [{ field: 'rack_id', operator: 'UNIQUE' }]), ['127.0.0.4']);
});

test('CLUSTER: only where the value is; LIKE and UNLIKE match the whole value (Java matches)', () => {
  assert.equal(ok([], [{ field: 'rack_id', operator: 'CLUSTER', value: 'rack-2' }]), ['127.0.0.4']);
  assert.equal(ok([], [{ field: 'hostname', operator: 'CLUSTER', value: '127.0.0.3' }]), ['127.0.0.3']);
  assert.equal(ok([], [{ field: 'rack_id', operator: 'LIKE', value: 'rack-[1]' }]), ['127.0.0.2', '127.0.0.3']);
  assert.equal(ok([], [{ field: 'rack_id', operator: 'LIKE', value: 'rack' }]), [], 'a prefix is not a match');
  assert.equal(ok([], [{ field: 'hostname', operator: 'UNLIKE', value: '127\\.0\\.0\\.[23]' }]), ['127.0.0.4']);
  // An agent without the attribute meets only UNLIKE.
  assert.equal(ok([], [{ field: 'gpu', operator: 'UNLIKE', value: 'yes' }]), ['127.0.0.2', '127.0.0.3']);
  assert.equal(ok([], [{ field: 'gpu', operator: 'LIKE', value: '.*' }]), ['127.0.0.4']);
});

test('MAX_PER: at most n per value; GROUP_BY: the next task goes to the smallest group', () => {
  const maxPer: Constraint = { field: 'rack_id', operator: 'MAX_PER', value: '2' };
  assert.equal(ok([a], [maxPer]), ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  assert.equal(ok([a, b], [maxPer]), ['127.0.0.4'], 'rack-1 holds two');
  const groupBy: Constraint = { field: 'rack_id', operator: 'GROUP_BY', value: '2' };
  assert.equal(ok([], [groupBy]), ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  assert.equal(ok([a], [groupBy]), ['127.0.0.4'], 'rack-2 is still empty (a new group is welcome, rack-1 is not the smallest of two)');
  assert.equal(ok([a, c], [groupBy]), ['127.0.0.2', '127.0.0.3', '127.0.0.4'], 'even: any');
  assert.equal(ok([a, c, b], [groupBy]), ['127.0.0.4']);
  // Constraints combine.
  assert.equal(ok([a], [groupBy, { field: 'hostname', operator: 'UNIQUE' }]), ['127.0.0.4']);
  assert.ok(meetsConstraint([], a, { field: 'hostname', operator: 'GROUP_BY' }));
});

test("constraints are validated at app add in Marathon's words, by index; a valid set is kept as given", () => {
  const base = { id: '/c', cmd: 'sleep 1' };
  const bad: Array<[unknown, string]> = [
    [[['hostname', 'UNIQUE', 'x']], 'Value specified but not used'],
    [[['rack_id', 'CLUSTER']], 'Missing value'],
    [[['rack_id', 'GROUP_BY', 'two']], 'Value was specified but is not a number'],
    [[['rack_id', 'MAX_PER']], 'MAX_PER needs a positive integer value'],
    [[['rack_id', 'LIKE']], 'A regular expression value must be provided'],
    [[['rack_id', 'LIKE', '(']], "'(' is not a valid regular expression"],
    [[['rack_id', 'LIKE', 'x'.repeat(300)]], 'at most 256 characters'],
    [[['hostname', 'NEAR']], 'Constraint operator must be one of UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER'],
    [[['', 'UNIQUE']], 'Missing field and operator'],
    [[['hostname']], 'array of 2 or 3 strings'],
    ['hostname:UNIQUE', 'must be an array'],
  ];
  for (const [constraints, why] of bad) {
    try {
      parseAppDefinition(JSON.stringify({ ...base, constraints }));
      assert.unreachable(why);
    } catch (err) {
      assert.ok(err instanceof MarathonValidationError, String(err));
      assert.match(JSON.stringify((err as MarathonValidationError).body.details), why);
      assert.match(JSON.stringify((err as MarathonValidationError).body.details), '/constraints');
    }
  }
  // As Marathon writes a value-less constraint in its answers: the same as none.
  assert.equal(readConstraints([['hostname', 'UNIQUE', '']]), { constraints: [{ field: 'hostname', operator: 'UNIQUE' }], problems: [] });
  const good = [
    ['hostname', 'UNIQUE'],
    ['rack_id', 'GROUP_BY', '2'],
    ['rack_id', 'MAX_PER', '3'],
    ['hostname', 'LIKE', '127\\.0\\.0\\.[0-9]+'],
  ];
  assert.equal(readConstraints(good).problems, []);
  assert.equal((parseAppDefinition(JSON.stringify({ ...base, constraints: good })) as { constraints?: unknown }).constraints, good);
});

test.run();
