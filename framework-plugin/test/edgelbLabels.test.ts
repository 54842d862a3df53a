import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTaskLabels } from '../src/local/edgelb/labels.js';

const REF = (f: string): unknown => JSON.parse(readFileSync(fileURLToPath(new URL(`./reference/edgelb/examples/${f}`, import.meta.url)), 'utf8'));

test('the docs’ sample task parses to the docs’ parseTaskLabels output', () => {
  const tasks = REF('autopool--mesosTasks-input.json') as Array<{ Labels: Record<string, string | boolean> }>;
  const r = parseTaskLabels(tasks[1]?.Labels ?? {});
  assert.ok(r.ok);
  assert.equal(r.ok ? r.labels : undefined, REF('autopool--parseTaskLabels-output-task2.json'));
});

test('the demo app’s labels: group "first" with a hostEq rule', () => {
  const r = parseTaskLabels({ 'edgelb.expose': 'true', 'edgelb.template': 'default', 'edgelb.first.frontend.rules': 'hostEq:binapp.mesosphere.com' });
  assert.equal(r.ok ? r.labels : r, { expose: 'true', template: 'default', first: { frontend: { rules: [{ hostEq: 'binapp.mesosphere.com' }] } } });
});

test('lists of dicts: "," between rules, "|" between ANDed conditions; delimiters can be overridden', () => {
  const r = parseTaskLabels({ 'edgelb.expose': 'true', 'edgelb.g.frontend.rules': 'hostEq:a.com|pathBeg:/id,hostEq:b.com' });
  assert.equal(r.ok && (r.labels.g as { frontend: unknown }).frontend, { rules: [{ hostEq: 'a.com', pathBeg: '/id' }, { hostEq: 'b.com' }] });
  const o = parseTaskLabels({ 'edgelb.delimiter': ';', 'edgelb.key_delimiter': '=', 'edgelb.g.frontend.rules': 'hostEq=a.com;pathBeg=/x' });
  assert.equal(o.ok && (o.labels.g as { frontend: unknown }).frontend, { rules: [{ hostEq: 'a.com' }, { pathBeg: '/x' }] });
});

test('bad labels are reported by name', () => {
  const r = parseTaskLabels({
    'edgelb.expose': 'true',
    'edgelb.g.frontend.rules': 'hostEq:Upper.com,hostFoo:x,pathReg:([',
    'edgelb.g.frontend.port': '99999',
    'edgelb.g.backend.protocol': 'GOPHER',
    'edgelb.g.frontend.nonsense': 'x',
    'edgelb.template.frontend.port': '80',
    'edgelb.h.frontend.rules': 'no-colon-here',
  });
  assert.not.ok(r.ok);
  const byLabel = (r.ok ? [] : r.errors).map((e) => `${e.label}: ${e.message}`).join('\n');
  for (const expected of [
    'edgelb.g.frontend.rules: hostEq must be lower case',
    'edgelb.g.frontend.rules: unknown rule key "hostFoo"',
    'edgelb.g.frontend.rules: pathReg "([" is not a valid regular expression',
    'edgelb.g.frontend.port: must be a port number',
    'edgelb.g.backend.protocol: must be one of',
    'edgelb.g.frontend.nonsense: unknown Edge-LB label',
    'edgelb.template.frontend.port: "template" cannot be a group name',
    'edgelb.h.frontend.rules: "no-colon-here" is not <key>:<value>',
  ]) assert.ok(byLabel.includes(expected), `missing: ${expected}\n${byLabel}`);
});

test.run();
