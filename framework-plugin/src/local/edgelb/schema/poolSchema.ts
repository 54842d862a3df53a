import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parse } from 'yaml';

import type { PoolProblem, V2Pool } from '../../../clients/edgelb/types.js';
import { FORBIDDEN_KEYS, grammar, hasControl, type Check } from './grammar.js';

export type { PoolProblem, V2Backend, V2Frontend, V2MapEntry, V2Pool, V2Service } from '../../../clients/edgelb/types.js';

type Schema = Record<string, unknown>;

/**
 * The reference spec's definitions, tightened for users: an object that
 * lists its properties accepts no others (a misspelt field is an error
 * instead of silently ignored), and `x-nullable` fields also accept null.
 */
function tighten(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tighten);
  if (!node || typeof node !== 'object') return node;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node as Schema)) {
    if (k === 'x-nullable' || k === 'description' || k === 'default') continue;
    out[k] = k === 'enum' ? v : tighten(v);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  if ((out.properties || out.additionalProperties) && out.type === undefined) out.type = 'object';
  if ((node as Schema)['x-nullable'] === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  return out;
}

const spec = parse(readFileSync(new URL('./edge-lb-v2.yaml', import.meta.url), 'utf8')) as { definitions: Schema };
const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
const validateShape = ajv.compile({ $ref: '#/definitions/V2Pool', definitions: tighten(spec.definitions) });

/** `/haproxy/frontends/0/bindPort` → `haproxy.frontends[0].bindPort`. */
function dotted(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), '');
}

function shapeProblem(e: ErrorObject): PoolProblem {
  const at = dotted(e.instancePath);
  const join = (field: string): string => (at ? `${at}.${field}` : field);
  if (e.keyword === 'additionalProperties') return { path: join(String(e.params.additionalProperty)), message: 'is not a field of an Edge-LB V2 pool here' };
  if (e.keyword === 'enum') return { path: at || '(root)', message: `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}` };
  if (e.keyword === 'type') return { path: at || '(root)', message: `must be ${[e.params.type].flat().join(' or ')}` };
  if (e.keyword === 'format') return { path: at, message: `must be a ${e.params.format} integer` };
  return { path: at || '(root)', message: e.message ?? 'is invalid' };
}

const POOL_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const CONDITIONS = ['hostEq', 'hostReg', 'pathBeg', 'pathEnd', 'pathReg'] as const;
/** The grammar of each map condition: hosts per RFC 1123, paths without spaces, '#' or quotes, regexes that cannot leave their quotes. */
const CONDITION_GRAMMAR: Record<(typeof CONDITIONS)[number], Check> = {
  hostEq: grammar.host,
  hostReg: grammar.regex,
  pathBeg: grammar.path,
  pathEnd: grammar.pathPart,
  pathReg: grammar.regex,
};

/** Rules Edge-LB checks in code rather than in its swagger ("actual validation is done in the code"). */
function semanticProblems(pool: V2Pool): PoolProblem[] {
  const problems: PoolProblem[] = [];
  const add = (path: string, message: string): void => void problems.push({ path, message });
  /** A value against its field's grammar; the problem names the path, never the value. */
  const field = (path: string, value: string, rule: Check): void => {
    const problem = typeof value === 'string' ? rule(value) : undefined;
    if (problem) add(path, problem);
  };
  // No string that reaches haproxy.cfg (the name and everything under
  // `haproxy`) may carry a control character: a newline would add a line.
  // No key anywhere may be a prototype name.
  const walk = (node: unknown, path: string): void => {
    const rendered = path === 'name' || path === 'haproxy' || path.startsWith('haproxy.') || path.startsWith('haproxy[');
    if (typeof node === 'string') {
      if (rendered && hasControl(node)) add(path || '(root)', 'must not contain control characters (newlines, tabs, NUL)');
    } else if (Array.isArray(node)) node.forEach((v, i) => walk(v, `${path}[${i}]`));
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (FORBIDDEN_KEYS.has(k)) add(path ? `${path}.${k}` : k, 'is a reserved name');
        else walk(v, path ? `${path}.${k}` : k);
      }
    }
  };
  walk(pool, '');
  if (typeof pool.name !== 'string') add('name', 'is required');
  else if (!POOL_NAME.test(pool.name)) add('name', 'must be lowercase letters, digits and dashes (at most 63), starting and ending with a letter or digit');
  if (pool.apiVersion === 'V1') add('apiVersion', 'V1 pools are not served; use "V2"');
  const frontends = pool.haproxy?.frontends ?? [];
  const backends = pool.haproxy?.backends ?? [];
  const backendNames = new Set<string>();
  backends.forEach((b, i) => {
    const at = `haproxy.backends[${i}]`;
    if (!b.name) add(`${at}.name`, 'is required');
    else if (backendNames.has(b.name)) add(`${at}.name`, `duplicates backend "${b.name}"`);
    else backendNames.add(b.name);
    if (!b.protocol) add(`${at}.protocol`, 'is required (HTTP, HTTPS, TCP or TLS)');
    if (b.name) field(`${at}.name`, b.name, grammar.name);
    if (b.balance !== undefined) field(`${at}.balance`, b.balance, grammar.balance);
    if (b.rewriteHttp?.host) field(`${at}.rewriteHttp.host`, b.rewriteHttp.host, grammar.host);
    if (b.rewriteHttp?.path?.fromPath) field(`${at}.rewriteHttp.path.fromPath`, b.rewriteHttp.path.fromPath, grammar.path);
    if (b.rewriteHttp?.path?.toPath) field(`${at}.rewriteHttp.path.toPath`, b.rewriteHttp.path.toPath, grammar.path);
    if (b.rewriteHttp?.sticky?.customStr) field(`${at}.rewriteHttp.sticky.customStr`, b.rewriteHttp.sticky.customStr, grammar.cookie);
    // The spec asks fromPath/toPath to agree on a trailing "/", but Edge-LB's own
    // path-routing example (`/nginx` → `/`) does not; like Edge-LB, accept both.
    if (b.rewriteHttp?.path && !b.rewriteHttp.path.fromPath) add(`${at}.rewriteHttp.path.fromPath`, 'is required to rewrite a path');
    (b.services ?? []).forEach((s, j) => {
      const sAt = `${at}.services[${j}]`;
      const selects = Object.values(s.marathon ?? {}).some(Boolean) || Object.values(s.mesos ?? {}).some(Boolean);
      if (s.endpoint?.address) field(`${sAt}.endpoint.address`, s.endpoint.address, grammar.address);
      if (s.endpoint?.portName) field(`${sAt}.endpoint.portName`, s.endpoint.portName, grammar.name);
      if (s.endpoint?.type === 'ADDRESS') {
        if (!s.endpoint.address) add(`${sAt}.endpoint.address`, 'is required when endpoint.type is ADDRESS');
        if (!s.endpoint.port || s.endpoint.port < 1) add(`${sAt}.endpoint.port`, 'is required when endpoint.type is ADDRESS');
      } else if (!selects) add(sAt, 'needs a marathon or mesos selector, or endpoint.type ADDRESS');
      for (const [k, v] of [...Object.entries(s.marathon ?? {}), ...Object.entries(s.mesos ?? {})]) {
        if (k.endsWith('Pattern') && v) {
          try {
            new RegExp(v);
          } catch {
            add(`${sAt}.${k in (s.marathon ?? {}) ? 'marathon' : 'mesos'}.${k}`, 'is not a valid regular expression');
          }
        }
      }
    });
  });
  const ports = new Map<number, number>();
  frontends.forEach((f, i) => {
    const at = `haproxy.frontends[${i}]`;
    if (f.bindPort === undefined || f.bindPort === null || f.bindPort < 1 || f.bindPort > 65535) add(`${at}.bindPort`, 'is required: a port from 1 to 65535');
    else if (ports.has(f.bindPort)) add(`${at}.bindPort`, `is already bound by haproxy.frontends[${ports.get(f.bindPort)}]`);
    else ports.set(f.bindPort, i);
    if (!f.protocol) add(`${at}.protocol`, 'is required (HTTP, HTTPS, TCP or TLS)');
    if (f.name) field(`${at}.name`, f.name, grammar.name);
    const def = f.linkBackend?.defaultBackend;
    if (def && !backendNames.has(def)) add(`${at}.linkBackend.defaultBackend`, `names no backend of this pool ("${def}")`);
    (f.linkBackend?.map ?? []).forEach((m, j) => {
      const mAt = `${at}.linkBackend.map[${j}]`;
      if (!m.backend) add(`${mAt}.backend`, 'is required');
      else if (!backendNames.has(m.backend)) add(`${mAt}.backend`, `names no backend of this pool ("${m.backend}")`);
      if (!CONDITIONS.some((c) => m[c])) add(mAt, `needs at least one of ${CONDITIONS.join(', ')}`);
      if (m.hostReg && m.hostReg !== m.hostReg.toLowerCase()) add(`${mAt}.hostReg`, 'must be lowercase');
      for (const c of CONDITIONS) if (m[c] !== undefined) field(`${mAt}.${c}`, m[c]!, CONDITION_GRAMMAR[c]);
    });
  });
  return problems;
}

/**
 * Validates a pool document against Edge-LB's V2 spec (the `V2Pool`
 * definition of the vendored `edge-lb-v2.yaml`, with unknown fields refused)
 * and the rules Edge-LB enforces in code: required names and protocols,
 * unique backends, map entries naming an existing backend with at least one
 * condition, lowercase hosts, consistent path rewrites.
 * @returns the pool, or every problem with its JSON path.
 */
export function validateV2Pool(doc: unknown): { ok: true; pool: V2Pool } | { ok: false; problems: PoolProblem[] } {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    return { ok: false, problems: [{ path: '(root)', message: 'must be a JSON object (an Edge-LB V2 pool)' }] };
  if (!validateShape(doc)) return { ok: false, problems: (validateShape.errors ?? []).map(shapeProblem) };
  const problems = semanticProblems(doc as V2Pool);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, pool: doc as V2Pool };
}
