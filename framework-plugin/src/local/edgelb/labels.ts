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
  const out: Record<string, unknown> = { expose: get('edgelb.expose') ?? 'false', template: get('edgelb.template') ?? 'default' };

  const dict = (label: string, text: string): Record<string, string> | undefined => {
    const d: Record<string, string> = {};
    for (const item of text.split(itemDelimiter)) {
      const i = item.indexOf(keyDelimiter);
      if (i <= 0) {
        errors.push({ label, message: `"${item}" is not <key>${keyDelimiter}<value>` });
        return undefined;
      }
      d[item.slice(0, i).trim()] = item.slice(i + keyDelimiter.length).trim();
    }
    return d;
  };

  for (const [key, raw] of Object.entries(labels)) {
    if (!key.startsWith('edgelb.')) continue;
    const rest = key.slice('edgelb.'.length);
    if (RESERVED.has(rest)) continue;
    const dot = rest.indexOf('.');
    const group = dot > 0 ? rest.slice(0, dot) : '';
    const option = rest.slice(dot + 1);
    const kind = KINDS[option];
    if (!group || !kind) {
      errors.push({ label: key, message: `unknown Edge-LB label (expected edgelb.<group>.${Object.keys(KINDS).join('|')})` });
      continue;
    }
    if (RESERVED.has(group)) {
      errors.push({ label: key, message: `"${group}" cannot be a group name` });
      continue;
    }
    const text = String(raw).trim();
    let value: unknown;
    if (kind === 'scalar') value = text;
    else if (kind === 'presence') value = text;
    else if (kind === 'list') value = text.split(delimiter).map((s) => s.trim()).filter(Boolean);
    else if (kind === 'dict') value = dict(key, text);
    else value = text ? text.split(delimiter).map((entry) => dict(key, entry)) : [];
    if (value === undefined || (Array.isArray(value) && value.includes(undefined))) continue;

    if (option === 'frontend.rules') {
      for (const rule of value as Array<Record<string, string>>) {
        for (const k of Object.keys(rule)) if (!RULE_KEYS.has(k)) errors.push({ label: key, message: `unknown rule key "${k}" (expected ${[...RULE_KEYS].join(', ')})` });
        for (const k of ['hostEq', 'hostReg'] as const) {
          const v = rule[k];
          if (v !== undefined && v !== v.toLowerCase()) errors.push({ label: key, message: `${k} must be lower case` });
        }
        for (const k of ['hostReg', 'pathReg'] as const) {
          const v = rule[k];
          if (v === undefined) continue;
          try {
            new RegExp(v);
          } catch {
            errors.push({ label: key, message: `${k} "${v}" is not a valid regular expression` });
          }
          if (/[\s{}]/.test(v)) errors.push({ label: key, message: `${k} must not contain spaces or braces` });
        }
        for (const k of ['hostEq', 'pathBeg', 'pathEnd'] as const) {
          const v = rule[k];
          if (v !== undefined && (!/^[^\s{}"'\\]+$/.test(v))) errors.push({ label: key, message: `${k} "${v}" must not contain spaces, braces, quotes or backslashes` });
        }
      }
    }
    if (option === 'frontend.port' && !(/^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= 65535)) errors.push({ label: key, message: 'must be a port number 1-65535' });
    if ((option === 'frontend.protocol' || option === 'backend.protocol') && !PROTOCOLS.has(text)) errors.push({ label: key, message: `must be one of ${[...PROTOCOLS].join(', ')}` });
    if (option === 'backend.rewriteHttp.path' && Object.keys(value as object).length !== 1) errors.push({ label: key, message: 'must be exactly one <from>:<to> pair' });

    const [side, ...path] = option.split('.');
    const g = (out[group] ??= {}) as Record<string, Record<string, unknown>>;
    let node = (g[side as string] ??= {});
    for (const p of path.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[path[path.length - 1] as string] = value;
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, labels: out as ParsedLabels };
}
