import { readdirSync, readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { validateV2Pool } from '../src/local/edgelb/schema/poolSchema.js';
import { explicitPool } from '../src/local/edgelb/explicitPool.js';
import { renderHaproxyConfig } from '../src/local/edgelb/haproxyConfig.js';
import type { AppView } from '../src/core/marathon/views.js';

const REF = new URL('./reference/edgelb/', import.meta.url);
const examples = readdirSync(new URL('examples/', REF)).filter((f) => f.startsWith('v2-example--') && !f.includes('auto-pool-marathon-application'));
const load = (f: string): Record<string, any> => JSON.parse(readFileSync(new URL(`examples/${f}`, REF), 'utf8'));

const pools = suite('edgelb V2 pool validation');

pools('every V2 pool example of the Edge-LB docs is valid, and so is the demo pool', () => {
  assert.ok(examples.length >= 10);
  for (const f of examples) {
    const r = validateV2Pool(load(f));
    assert.ok(r.ok, `${f}: ${JSON.stringify(!r.ok && r.problems)}`);
  }
  assert.ok(validateV2Pool(JSON.parse(readFileSync(new URL('../../marathon/edgelb-pool.json', import.meta.url), 'utf8'))).ok);
});

// Every property the reference spec defines under V2Pool, with its JSON path and type.
type Field = { path: string; type: string; set: (pool: Record<string, any>, v: unknown) => void };
function fieldsOf(defs: Record<string, any>, schema: Record<string, any>, path: string[], out: Field[], seen: string[] = []): void {
  if (schema.$ref) {
    const name = String(schema.$ref).split('/').pop()!;
    if (seen.includes(name)) return;
    return fieldsOf(defs, defs[name], path, out, [...seen, name]);
  }
  if (schema.type === 'array' && schema.items) return fieldsOf(defs, schema.items, [...path, '0'], out, seen);
  for (const [k, v] of Object.entries<Record<string, any>>(schema.properties ?? {})) {
    const p = [...path, k];
    const resolved = v.$ref ? defs[String(v.$ref).split('/').pop()!] : v;
    out.push({
      path: p
        .map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`))
        .join('')
        .slice(1),
      type: resolved.enum ? 'enum' : (resolved.type ?? 'object'),
      set(pool, value) {
        let node: any = pool;
        p.slice(0, -1).forEach((seg, i) => (node = node[seg] ??= /^\d+$/.test(p[i + 1]!) ? [] : {}));
        node[p.at(-1)!] = value;
      },
    });
    fieldsOf(defs, v, p, out, seen);
  }
}

pools('a wrong value in any field the reference spec defines is reported at exactly that field', () => {
  const spec = parse(readFileSync(new URL('../src/local/edgelb/schema/edge-lb-v2.yaml', import.meta.url), 'utf8')) as { definitions: Record<string, any> };
  const fields: Field[] = [];
  fieldsOf(spec.definitions, spec.definitions.V2Pool, [], fields);
  assert.ok(fields.length > 80, `${fields.length} fields`);
  for (const f of fields) {
    const pool: Record<string, any> = { name: 'p' };
    const wrong = f.type === 'string' || f.type === 'enum' ? 42 : 'not-a-' + f.type;
    f.set(pool, f.type === 'enum' ? 'NOPE' : wrong);
    const r = validateV2Pool(pool);
    assert.ok(!r.ok, `${f.path} accepted ${JSON.stringify(wrong)}`);
    assert.ok(
      r.problems.some((p) => p.path === f.path),
      `${f.path}: ${JSON.stringify(r.problems)}`,
    );
  }
});

pools('misspelt fields and Edge-LB code rules: every problem, with its path', () => {
  const r = validateV2Pool({
    name: 'Bad_Name',
    haproxy: {
      frontends: [
        {
          bindPort: 80,
          protocol: 'HTTP',
          linkBackend: { defaultBackend: 'ghost', map: [{ backend: 'web' }, { backend: 'web', hostEq: 'Upper.Example.com' }] },
        },
        { bindPrt: 81, protocol: 'HTTP' },
      ],
      backends: [
        { name: 'web', protocol: 'HTTP', services: [{ endpoint: { portName: 'http' } }] },
        { name: 'web', protocol: 'HTTP' },
      ],
    },
  });
  assert.ok(!r.ok);
  assert.equal(r.problems, [{ path: 'haproxy.frontends[1].bindPrt', message: 'is not a field of an Edge-LB V2 pool here' }]);
  const r2 = validateV2Pool({
    name: 'Bad_Name',
    haproxy: {
      frontends: [
        {
          bindPort: 80,
          protocol: 'HTTP',
          linkBackend: { defaultBackend: 'ghost', map: [{ backend: 'web' }, { backend: 'web', hostEq: 'Upper.Example.com' }] },
        },
        { protocol: 'HTTP' },
      ],
      backends: [
        { name: 'web', protocol: 'HTTP', services: [{ endpoint: { portName: 'http' } }] },
        { name: 'web', protocol: 'HTTP' },
      ],
    },
  });
  assert.ok(!r2.ok);
  assert.equal(
    r2.problems.map((p) => p.path),
    [
      'name',
      'haproxy.backends[0].services[0]',
      'haproxy.backends[1].name',
      'haproxy.frontends[0].linkBackend.defaultBackend',
      'haproxy.frontends[0].linkBackend.map[0]',
      'haproxy.frontends[0].linkBackend.map[1].hostEq',
      'haproxy.frontends[1].bindPort',
    ],
  );
  assert.equal(validateV2Pool([]), { ok: false, problems: [{ path: '(root)', message: 'must be a JSON object (an Edge-LB V2 pool)' }] });
});

const app = (id: string, ports: Array<[string, number]>, healthy = true): AppView =>
  ({
    id,
    labels: {},
    portDefinitions: ports.map(([name]) => ({ port: 0, name })),
    healthChecks: [{ protocol: 'MESOS_HTTP' }],
    tasks: [
      {
        id: `${id.slice(1).replace(/\//g, '_')}.t1`,
        state: 'TASK_RUNNING',
        host: '127.0.0.1',
        ports: ports.map(([, p]) => p),
        healthCheckResults: [{ alive: healthy }],
      },
    ],
  }) as unknown as AppView;

pools('the path-routing example renders: map order, default backend, mesos task names, /nginx → / rewrite', () => {
  const apps = [app('/host-httpd', [['web', 20001]]), app('/bridge-nginx', [['web', 20002]]), app('/sick', [['web', 20003]], false)];
  const pool = explicitPool(load('v2-example--path-based-routing.json') as never, apps, { httpPort: 10080, frameworkId: 'sip-local-framework' });
  const cfg = renderHaproxyConfig(pool, { statsSocket: '/tmp/x.sock', statsPort: 9999 });
  const fe = cfg.slice(cfg.indexOf('frontend frontend_0.0.0.0_80'));
  assert.match(fe, 'bind 127.0.0.1:10080');
  const rule = fe.indexOf('use_backend nginx if { path_beg /nginx }');
  const fallback = fe.indexOf('default_backend httpd');
  assert.ok(rule >= 0, 'the /nginx rule is rendered');
  assert.ok(fallback >= 0, 'the default backend is rendered');
  assert.ok(rule < fallback, 'the rule comes before the default backend');
  assert.match(cfg, /backend httpd\n[^]*server host-httpd\.t1 127\.0\.0\.1:20001 check/);
  assert.match(cfg, /backend nginx\n[^]*http-request replace-path '\^\/nginx\/\?\(\.\*\)\$' '\/\\1'\n[^]*server bridge-nginx\.t1 127\.0\.0\.1:20002 check/);
  assert.not.match(cfg, '20003', 'unhealthy tasks are not servers');
});

pools('a Pool API pool cannot inject HAProxy text: each bad value refused at its path, never quoted back', () => {
  const NL = '\n  frontend evil\n  bind 0.0.0.0:6666';
  const base = () => ({
    apiVersion: 'V2',
    name: 'web',
    haproxy: {
      frontends: [{ bindPort: 80, protocol: 'HTTP', linkBackend: { defaultBackend: 'b', map: [{ backend: 'b', pathBeg: '/x' }] } }],
      backends: [{ name: 'b', protocol: 'HTTP', balance: 'roundrobin', services: [{ endpoint: { type: 'ADDRESS', address: '127.0.0.1', port: 8080 } }] }],
    },
  });
  assert.ok(validateV2Pool(base()).ok, 'the base pool is valid');
  const cases: Array<[string, (p: any) => void]> = [
    ['haproxy.backends[0].balance', (p) => (p.haproxy.backends[0].balance = `roundrobin${NL}`)],
    ['haproxy.backends[0].balance', (p) => (p.haproxy.backends[0].balance = 'roundrobin # x')],
    ['haproxy.frontends[0].linkBackend.map[0].pathBeg', (p) => (p.haproxy.frontends[0].linkBackend.map[0].pathBeg = `/x${NL}`)],
    ['haproxy.frontends[0].linkBackend.map[0].pathBeg', (p) => (p.haproxy.frontends[0].linkBackend.map[0].pathBeg = '/x#y')],
    ['haproxy.frontends[0].linkBackend.map[0].hostEq', (p) => (p.haproxy.frontends[0].linkBackend.map[0].hostEq = 'a"b.com')],
    ['haproxy.frontends[0].linkBackend.map[0].pathReg', (p) => (p.haproxy.frontends[0].linkBackend.map[0].pathReg = "^/a'b")],
    ['haproxy.backends[0].services[0].endpoint.address', (p) => (p.haproxy.backends[0].services[0].endpoint.address = `127.0.0.1${NL}`)],
    ['haproxy.backends[0].services[0].endpoint.address', (p) => (p.haproxy.backends[0].services[0].endpoint.address = '127.0.0.1 backup')],
  ];
  for (const [path, spoil] of cases) {
    const doc = base();
    spoil(doc);
    const r = validateV2Pool(doc);
    assert.not.ok(r.ok, `accepted a bad ${path}`);
    const problems = r.ok ? [] : r.problems;
    assert.ok(
      problems.some((p) => p.path === path),
      `${path} not named: ${JSON.stringify(problems)}`,
    );
    assert.ok(!JSON.stringify(problems).includes('6666'), 'a problem quoted the value');
  }
  const proto = JSON.parse('{"apiVersion":"V2","name":"web","haproxy":{"backends":[{"name":"b","protocol":"HTTP","__proto__":{"x":1}}]}}');
  assert.not.ok(validateV2Pool(proto).ok, 'a __proto__ key was accepted');
});

pools('the renderer refuses any value with a control character, whatever field it came in', () => {
  const pool = {
    name: 'p',
    frontends: [
      { name: 'f', bindAddress: '127.0.0.1', bindPort: 10080, protocol: 'HTTP' as const, rules: [], miscStrs: ['timeout client 5s\n  bind 0.0.0.0:6666'] },
    ],
    backends: [],
  };
  try {
    renderHaproxyConfig(pool, { statsSocket: '/tmp/x.sock', statsPort: 9999 });
    assert.unreachable('rendered');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'SIP_HAPROXY_CONFIG_INVALID');
    assert.not.match((err as Error).message, '6666');
  }
});

pools.run();
