import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createResourceLedger } from '../src/local/scheduler/resourceLedger.js';

// The local agent's resources: a task waits until it fits (cpus, mem, ports,
// a cap on tasks); what ended is free again, once.

const task = { cpus: 1, mem: 512, ports: 1 };

test('tasks fit until cpus, mem, ports or the task cap run out; each limit alone stops the next', () => {
  const byCpu = createResourceLedger({ cpus: 2, mem: 10_000, ports: 100, tasks: 100 });
  byCpu.hold('a', task);
  byCpu.hold('b', task);
  assert.not.ok(byCpu.fits(task), 'cpus exhausted');
  assert.ok(byCpu.fits({ ...task, cpus: 0 }), 'a task asking no cpu still fits');
  const byMem = createResourceLedger({ cpus: 100, mem: 1000, ports: 100, tasks: 100 });
  byMem.hold('a', task);
  assert.not.ok(byMem.fits(task), 'mem exhausted');
  const byPorts = createResourceLedger({ cpus: 100, mem: 10_000, ports: 1, tasks: 100 });
  byPorts.hold('a', task);
  assert.not.ok(byPorts.fits(task), 'ports exhausted');
  const byCap = createResourceLedger({ cpus: 100, mem: 10_000, ports: 100, tasks: 1 });
  byCap.hold('a', { cpus: 0, mem: 0, ports: 0 });
  assert.not.ok(byCap.fits({ cpus: 0, mem: 0, ports: 0 }), 'an app of cpus 0, mem 0 cannot launch without end');
});

test('a release frees what the task held, once; holding an id twice counts it once', () => {
  const l = createResourceLedger({ cpus: 1.5, mem: 10_000, ports: 100, tasks: 100 });
  l.hold('a', task);
  l.hold('a', task);
  assert.equal(l.used(), { cpus: 1, mem: 512, ports: 1, tasks: 1 });
  assert.not.ok(l.fits(task));
  l.release('a');
  l.release('a');
  l.release('never-held');
  assert.equal(l.used(), { cpus: 0, mem: 0, ports: 0, tasks: 0 });
  assert.ok(l.fits(task));
});

test('fractional cpus add up without a rounding refusal', () => {
  const l = createResourceLedger({ cpus: 0.3, mem: 10_000, ports: 100, tasks: 100 });
  l.hold('a', { cpus: 0.1, mem: 1, ports: 0 });
  l.hold('b', { cpus: 0.1, mem: 1, ports: 0 });
  assert.ok(l.fits({ cpus: 0.1, mem: 1, ports: 0 }), '0.1 + 0.1 + 0.1 fits 0.3');
});

test.run();
