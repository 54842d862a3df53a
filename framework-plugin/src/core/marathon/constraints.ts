/**
 * Marathon's placement constraints (`"constraints": [["hostname", "UNIQUE"]]`):
 * validation as Marathon's `complyWithConstraintRules` (mesosphere/marathon
 * `SchedulingValidator.scala`) and the check of one agent against the tasks
 * already placed as its `Constraints.meetsConstraint` (mesosphere/marathon
 * `src/main/scala/mesosphere/mesos/Constraints.scala`, Apache-2.0), for the
 * six operators Marathon documents for apps. Pure.
 */

/** The operators this cluster honours. */
export const CONSTRAINT_OPERATORS = ['UNIQUE', 'CLUSTER', 'GROUP_BY', 'LIKE', 'UNLIKE', 'MAX_PER'] as const;
export type ConstraintOperator = (typeof CONSTRAINT_OPERATORS)[number];

/** One constraint: a field (`hostname`, or an agent attribute's name), an operator, a value where it takes one. */
export interface Constraint {
  readonly field: string;
  readonly operator: ConstraintOperator;
  readonly value?: string;
}

/** Where a task is, or could be: its agent's hostname and text attributes. */
export interface Placement {
  readonly hostname: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** The longest regular expression LIKE/UNLIKE take (each is run against every agent for every launch). */
const MAX_PATTERN = 256;

/**
 * Reads `constraints` as Marathon does: each an array `[field, operator]` or
 * `[field, operator, value]` of strings. Problems are reported by index, in
 * Marathon's words where it has them.
 */
export function readConstraints(raw: unknown): { constraints: Constraint[]; problems: Array<{ path: string; message: string }> } {
  const constraints: Constraint[] = [];
  const problems: Array<{ path: string; message: string }> = [];
  if (raw === undefined) return { constraints, problems };
  if (!Array.isArray(raw)) return { constraints, problems: [{ path: '/constraints', message: 'must be an array of [field, operator, value?]' }] };
  raw.forEach((c: unknown, i) => {
    const path = `/constraints(${i})`;
    if (!Array.isArray(c) || c.length < 2 || c.length > 3 || !c.every((x) => typeof x === 'string')) {
      return void problems.push({ path, message: 'Each constraint must be an array of 2 or 3 strings: [field, operator, value?]' });
    }
    // Marathon writes a constraint without a value with an empty third element (GET /v2/apps): the same as none.
    const [field, operator, given] = c as string[];
    const value = given === '' ? undefined : given;
    if (!field) return void problems.push({ path, message: 'Missing field and operator' });
    if (!(CONSTRAINT_OPERATORS as readonly string[]).includes(operator!)) {
      return void problems.push({ path, message: `Constraint operator must be one of ${CONSTRAINT_OPERATORS.join(', ')}` });
    }
    const op = operator as ConstraintOperator;
    const problem = valueProblem(op, value);
    if (problem) return void problems.push({ path, message: problem });
    constraints.push(value === undefined ? { field, operator: op } : { field, operator: op, value });
  });
  return { constraints, problems };
}

function valueProblem(op: ConstraintOperator, value: string | undefined): string | undefined {
  switch (op) {
    case 'UNIQUE':
      return value === undefined ? undefined : 'Value specified but not used';
    case 'CLUSTER':
      return value ? undefined : 'Missing value';
    case 'GROUP_BY':
      return value === undefined || /^-?\d+$/.test(value) ? undefined : 'Value was specified but is not a number';
    case 'MAX_PER':
      return value !== undefined && /^\d+$/.test(value) && Number(value) > 0 ? undefined : 'MAX_PER needs a positive integer value';
    case 'LIKE':
    case 'UNLIKE':
      if (value === undefined) return 'A regular expression value must be provided';
      if (value.length > MAX_PATTERN) return `A regular expression of at most ${MAX_PATTERN} characters must be provided`;
      try {
        new RegExp(value);
        return undefined;
      } catch {
        return `'${value}' is not a valid regular expression`;
      }
  }
}

/** The constraint's field on a placement: the hostname, or the attribute (undefined where the agent has none). */
const fieldOf = (p: Placement, field: string): string | undefined =>
  field === 'hostname' || field === '@hostname' ? p.hostname : Object.prototype.hasOwnProperty.call(p.attributes, field) ? p.attributes[field] : undefined;

/** Java's `String.matches`: the whole value. */
const fullMatch = (pattern: string, value: string): boolean => new RegExp(`^(?:${pattern})$`).test(value);

/**
 * Whether a task may go to `offer` given where the app's tasks already are
 * (`placed`), for one constraint: Marathon's `meetsConstraint`.
 */
export function meetsConstraint(placed: readonly Placement[], offer: Placement, c: Constraint): boolean {
  const value = fieldOf(offer, c.field);
  // Only UNLIKE can be met by an agent without the field.
  if (value === undefined) return c.operator === 'UNLIKE';
  const counts = (): Map<string | undefined, number> => {
    const m = new Map<string | undefined, number>();
    for (const p of placed) m.set(fieldOf(p, c.field), (m.get(fieldOf(p, c.field)) ?? 0) + 1);
    return m;
  };
  switch (c.operator) {
    case 'LIKE':
      return fullMatch(c.value!, value);
    case 'UNLIKE':
      return !fullMatch(c.value!, value);
    case 'UNIQUE':
      return placed.every((p) => fieldOf(p, c.field) !== value);
    case 'CLUSTER':
      return value === c.value;
    case 'MAX_PER':
      return (counts().get(value) ?? 0) < Number(c.value);
    case 'GROUP_BY': {
      // The offer's group must be the smallest, once there are at least `value` groups; a new group is always welcome.
      const minimum = Math.max(0, Number(c.value ?? 0));
      const groups = counts();
      const mine = groups.get(value);
      if (mine === undefined) return true;
      return groups.size >= minimum && mine === Math.min(...groups.values());
    }
  }
}

/** Whether `offer` meets every constraint. */
export const meetsAll = (placed: readonly Placement[], offer: Placement, constraints: readonly Constraint[]): boolean =>
  constraints.every((c) => meetsConstraint(placed, offer, c));
