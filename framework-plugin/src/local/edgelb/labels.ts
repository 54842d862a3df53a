import { FORBIDDEN_KEYS, grammar, hasControl, type Check } from './schema/grammar.js';

/** A problem with one label: which label, and what is wrong. */
export interface LabelError {
  readonly label: string;
  readonly message: string;
}

/** One routing rule: conditions (ANDed), e.g. `{hostEq: "a.com", pathBeg: "/x"}`. */
export type Rule = Partial<Record<'hostEq' | 'hostReg' | 'pathBeg' | 'pathEnd' | 'pathReg', string>>;

/** A group's options, as Edge-LB's `parseTaskLabels` returns them. */
export interface GroupLabels {
  frontend?: { certificates?: string[]; port?: string; protocol?: string; redirectToHttps?: Array<Record<string, string>>; rules?: Rule[] };
  backend?: {
    balance?: string;
    portName?: string;
    protocol?: string;
    rewriteHttp?: { path?: Record<string, string>; sticky?: string };
    endpoint?: Record<string, string>;
  };
}

/** The parsed labels of one task/app: `expose`, `template` and its groups. */
export type ParsedLabels = { expose: string; template: string } & { [group: string]: GroupLabels | string };

const RESERVED = new Set(['expose', 'template', 'delimiter', 'item_delimiter', 'key_delimiter']);
const RULE_KEYS = new Set(['hostEq', 'hostReg', 'pathBeg', 'pathEnd', 'pathReg']);
const KINDS: Record<string, 'list' | 'scalar' | 'dict' | 'listOfDicts' | 'presence'> = {
  'frontend.certificates': 'list',
  'frontend.port': 'scalar',
  'frontend.protocol': 'scalar',
  'frontend.redirectToHttps': 'listOfDicts',
  'frontend.rules': 'listOfDicts',
  'backend.balance': 'scalar',
  'backend.portName': 'scalar',
  'backend.protocol': 'scalar',
  'backend.rewriteHttp.path': 'dict',
  'backend.rewriteHttp.sticky': 'presence',
  'backend.endpoint': 'dict',
};
const PROTOCOLS = new Set(['HTTP', 'HTTPS', 'TCP', 'TLS']);
/** The grammar of each rule condition. */
const RULE_GRAMMAR: Record<string, Check> = {
  hostEq: grammar.host,
  hostReg: grammar.regex,
  pathBeg: grammar.path,
  pathEnd: grammar.pathPart,
  pathReg: grammar.regex,
};
/** `backend.endpoint` keys a label may set, and their grammar (no raw `miscStr` from labels: only the token-protected Pool API takes raw HAProxy text). */
const ENDPOINT_GRAMMAR: Record<string, Check> = {
  type: (v) => (['AUTO_IP', 'AGENT_IP', 'CONTAINER_IP', 'ADDRESS'].includes(v) ? undefined : 'must be AUTO_IP, AGENT_IP, CONTAINER_IP or ADDRESS'),
  address: grammar.address,
  port: grammar.port,
  portName: grammar.name,
};
const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
/** A map with no prototype: a key like `__proto__` is only ever a key. */
const dictionary = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

/**
 * Parses an app's Edge-LB Auto Pool labels (`edgelb.expose`, `edgelb.template`,
 * `edgelb.<group>.frontend.*`, `edgelb.<group>.backend.*`, the delimiter
 * overrides) into Edge-LB's `parseTaskLabels` shape, checking each value.
 * @returns the parsed labels, or every problem by label name.
 */
export function parseTaskLabels(labels: Readonly<Record<string, string | boolean>>): { ok: true; labels: ParsedLabels } | { ok: false; errors: LabelError[] } {
  const get = (k: string): string | undefined => (labels[k] === undefined ? undefined : String(labels[k]));
  const delimiter = get('edgelb.delimiter') ?? ',';
  const itemDelimiter = get('edgelb.item_delimiter') ?? '|';
  const keyDelimiter = get('edgelb.key_delimiter') ?? ':';
  const errors: LabelError[] = [];
  const out = dictionary<unknown>();
  out.expose = get('edgelb.expose') ?? 'false';
  out.template = get('edgelb.template') ?? 'default';
  const templateProblem = grammar.name(String(out.template));
  if (templateProblem) errors.push({ label: 'edgelb.template', message: templateProblem });

  const dict = (label: string, text: string): Record<string, string> | undefined => {
    const d = dictionary<string>();
    for (const item of text.split(itemDelimiter)) {
      const i = item.indexOf(keyDelimiter);
      if (i <= 0) {
        errors.push({ label, message: `an item is not <key>${keyDelimiter}<value>` });
        return undefined;
      }
      const k = item.slice(0, i).trim();
      if (FORBIDDEN_KEYS.has(k) || has(d, k)) {
        errors.push({ label, message: `key "${FORBIDDEN_KEYS.has(k) ? k : k.slice(0, 40)}" is reserved or repeated` });
        return undefined;
      }
      d[k] = item.slice(i + keyDelimiter.length).trim();
    }
    return d;
  };
  /** Records a grammar problem of one value; values are never quoted back. */
  const check = (label: string, what: string, value: string, rule: Check): void => {
    const problem = rule(value);
    if (problem) errors.push({ label, message: `${what} ${problem}` });
  };

  for (const [key, raw] of Object.entries(labels)) {
    if (!key.startsWith('edgelb.')) continue;
    const rest = key.slice('edgelb.'.length);
    if (RESERVED.has(rest)) continue;
    const dot = rest.indexOf('.');
    const group = dot > 0 ? rest.slice(0, dot) : '';
    const option = rest.slice(dot + 1);
    const kind = has(KINDS, option) ? KINDS[option] : undefined;
    if (!group || !kind) {
      errors.push({ label: key, message: `unknown Edge-LB label (expected edgelb.<group>.${Object.keys(KINDS).join('|')})` });
      continue;
    }
    if (RESERVED.has(group) || grammar.name(group)) {
      errors.push({ label: key, message: `group name ${RESERVED.has(group) ? `"${group}" is reserved` : grammar.name(group)}` });
      continue;
    }
    if (hasControl(String(raw))) {
      errors.push({ label: key, message: 'must not contain control characters (newlines, tabs, NUL)' });
      continue;
    }
    const text = String(raw).trim();
    let value: unknown;
    if (kind === 'scalar') value = text;
    else if (kind === 'presence') value = text;
    else if (kind === 'list')
      value = text
        .split(delimiter)
        .map((s) => s.trim())
        .filter(Boolean);
    else if (kind === 'dict') value = dict(key, text);
    else value = text ? text.split(delimiter).map((entry) => dict(key, entry)) : [];
    if (value === undefined || (Array.isArray(value) && value.includes(undefined))) continue;

    if (option === 'frontend.rules') {
      for (const rule of value as Array<Record<string, string>>) {
        for (const [k, v] of Object.entries(rule)) {
          if (!RULE_KEYS.has(k))
            errors.push({
              label: key,
              message: `unknown rule key "${FORBIDDEN_KEYS.has(k) || /^\w{1,20}$/.test(k) ? k : '…'}" (expected ${[...RULE_KEYS].join(', ')})`,
            });
          else check(key, k, v, RULE_GRAMMAR[k] as Check);
        }
      }
    }
    if (option === 'frontend.redirectToHttps') {
      for (const r of value as Array<Record<string, string>>)
        for (const [k, v] of Object.entries(r)) check(key, k, v, k === 'host' ? grammar.host : grammar.path);
    }
    if (option === 'frontend.certificates') for (const v of value as string[]) check(key, 'a certificate', v, grammar.name);
    if (option === 'frontend.port') check(key, 'the port', text, grammar.port);
    if ((option === 'frontend.protocol' || option === 'backend.protocol') && !PROTOCOLS.has(text))
      errors.push({ label: key, message: `must be one of ${[...PROTOCOLS].join(', ')}` });
    if (option === 'backend.balance') check(key, 'balance', text, grammar.balance);
    if (option === 'backend.portName') check(key, 'the port name', text, grammar.name);
    if (option === 'backend.rewriteHttp.sticky' && text) check(key, 'the sticky cookie', text, grammar.cookie);
    if (option === 'backend.rewriteHttp.path') {
      const pairs = Object.entries(value as object) as Array<[string, string]>;
      if (pairs.length !== 1) errors.push({ label: key, message: 'must be exactly one <from>:<to> pair' });
      for (const [from, to] of pairs) {
        check(key, 'the path to rewrite', from, grammar.path);
        check(key, 'the new path', to, grammar.path);
      }
    }
    if (option === 'backend.endpoint') {
      for (const [k, v] of Object.entries(value as object) as Array<[string, string]>) {
        const rule = has(ENDPOINT_GRAMMAR, k) ? ENDPOINT_GRAMMAR[k] : undefined;
        if (!rule)
          errors.push({
            label: key,
            message: `endpoint key "${FORBIDDEN_KEYS.has(k) || /^\w{1,20}$/.test(k) ? k : '…'}" is not allowed in a label (expected ${Object.keys(ENDPOINT_GRAMMAR).join(', ')})`,
          });
        else check(key, `endpoint ${k}`, v, rule);
      }
    }

    const [side, ...path] = option.split('.');
    const g = (out[group] ??= dictionary()) as Record<string, Record<string, unknown>>;
    let node = (g[side as string] ??= dictionary());
    for (const p of path.slice(0, -1)) node = (node[p] ??= dictionary()) as Record<string, unknown>;
    node[path[path.length - 1] as string] = value;
  }
  if (errors.length > 0) return { ok: false, errors };
  // Plain objects again for callers; every key was checked, none can reach a prototype.
  return { ok: true, labels: structuredClone(out) as ParsedLabels };
}
