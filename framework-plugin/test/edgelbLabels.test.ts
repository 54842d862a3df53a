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
    'edgelb.g.frontend.rules: hostEq must be a lower-case host name',
    'edgelb.g.frontend.rules: unknown rule key "hostFoo"',
    'edgelb.g.frontend.rules: pathReg is not a valid regular expression',
    'edgelb.g.frontend.port: the port must be a port number',
    'edgelb.g.backend.protocol: must be one of',
    'edgelb.g.frontend.nonsense: unknown Edge-LB label',
    'edgelb.template.frontend.port: group name "template" is reserved',
    'edgelb.h.frontend.rules: an item is not <key>:<value>',
  ])
    assert.ok(byLabel.includes(expected), `missing: ${expected}\n${byLabel}`);
});

test('a hostile tenant’s labels: prototype names are refused and pollute nothing', () => {
  const attacks: Record<string, string>[] = [
    { 'edgelb.expose': 'true', 'edgelb.__proto__.backend.endpoint': 'type:ADDRESS|address:127.0.0.66|port:9' },
    { 'edgelb.expose': 'true', 'edgelb.constructor.backend.balance': 'roundrobin' },
    { 'edgelb.expose': 'true', 'edgelb.g.backend.endpoint': '__proto__:x|port:9' },
    { 'edgelb.expose': 'true', 'edgelb.g.frontend.rules': 'constructor:x' },
    { 'edgelb.expose': 'true', 'edgelb.g.constructor': 'x' },
    { 'edgelb.expose': 'true', 'edgelb.g.__proto__.x': 'y' },
  ];
  for (const labels of attacks) {
    const r = parseTaskLabels(labels);
    assert.not.ok(r.ok, `accepted: ${JSON.stringify(labels)}`);
  }
  const probe = {} as Record<string, unknown>;
  assert.is(probe.backend, undefined, 'Object.prototype was polluted');
  assert.is(probe.endpoint, undefined, 'Object.prototype was polluted');
  assert.is(({} as { address?: unknown }).address, undefined);
});

test('a hostile tenant’s label values cannot carry HAProxy text: newlines, #, quotes, spaces are refused per field', () => {
  const NL = 'x\n  frontend evil\n  bind 0.0.0.0:6666';
  const cases: Array<[string, string]> = [
    ['edgelb.g.backend.balance', `roundrobin${NL}`],
    ['edgelb.g.backend.balance', 'roundrobin # comment'],
    ['edgelb.g.backend.balance', 'nonsense'],
    ['edgelb.template', `default${NL}`],
    ['edgelb.template', 'a b'],
    ['edgelb.g.backend.rewriteHttp.path', `/a:/b${NL}`],
    ['edgelb.g.backend.rewriteHttp.path', '/a:/b c'],
    ['edgelb.g.backend.endpoint', `type:ADDRESS|address:127.0.0.1${NL}|port:80`],
    ['edgelb.g.backend.endpoint', 'type:ADDRESS|address:1.2.3.4 backup|port:80'],
    ['edgelb.g.backend.endpoint', 'miscStr:send-proxy'],
    ['edgelb.g.frontend.rules', 'pathBeg:/x#y'],
    ['edgelb.g.frontend.rules', 'pathBeg:/x"y'],
    ['edgelb.g.frontend.rules', "pathReg:^/a'b"],
    ['edgelb.g.frontend.rules', 'hostEq:a#b.com'],
    ['edgelb.g.frontend.rules', 'hostEq:a b.com'],
    ['edgelb.g.backend.rewriteHttp.sticky', 'SERVERID insert\nbind :1'],
    ['edgelb.g.backend.portName', 'web x'],
  ];
  for (const [label, value] of cases) {
    const r = parseTaskLabels({ 'edgelb.expose': 'true', [label]: value });
    assert.not.ok(r.ok, `accepted ${label}=${JSON.stringify(value)}`);
    const said = JSON.stringify(r.ok ? [] : r.errors);
    assert.ok(!said.includes('6666') && !said.includes('evil'), `an error quoted the value: ${said}`);
  }
  const fine = parseTaskLabels({
    'edgelb.expose': 'true',
    'edgelb.g.backend.balance': 'hdr(host)',
    'edgelb.g.frontend.rules': 'pathReg:^/api/v[0-9]+/.*$|hostEq:api.example.com',
    'edgelb.g.backend.rewriteHttp.path': '/api:/',
  });
  assert.ok(fine.ok, JSON.stringify(fine));
});

test.run();
