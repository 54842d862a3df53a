import { CREDENTIAL_MODES, CREDENTIALS_LABEL, isCredentialMode } from './credentialMode.js';
import { z } from 'zod';
import { resolveAppId } from './appId.js';
import { DetailCollector, MarathonValidationError } from './validationError.js';
import { readConstraints } from './constraints.js';

const nonEmpty = z.string().min(1, { message: 'must not be empty' });
const nonNegInt = z.number().int().min(0);
const nonNeg = z.number().min(0);
const port = z.number().int().min(0).max(65535);

/** `env` value: a plain string or a reference to a declared secret. */
const envValue = z.union([z.string(), z.looseObject({ secret: nonEmpty })], {
  message: 'must be a string or {"secret": "<name>"}',
});

const secretVolume = z.looseObject({ containerPath: nonEmpty, secret: nonEmpty });
const otherVolume = z.looseObject({ containerPath: nonEmpty }).refine((v) => !('secret' in v), { message: 'invalid secret volume' });
const volume = z.union([secretVolume, otherVolume], { message: 'must be a volume with a containerPath' });

const portMapping = z.looseObject({
  containerPort: port.optional(),
  hostPort: port.optional(),
  servicePort: port.optional(),
  protocol: z.string().optional(),
  name: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
});

const container = z.looseObject({
  type: z.enum(['MESOS', 'DOCKER'], { message: "must be 'MESOS' or 'DOCKER'" }).default('DOCKER'),
  // An image reference, never an option of the docker CLI (`--privileged`).
  docker: z.looseObject({ image: nonEmpty.regex(/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/, { message: 'must be an image reference (letters, digits, ._/:@-), not starting with "-"' }) }).optional(),
  volumes: z.array(volume).optional(),
  portMappings: z.array(portMapping).optional(),
});

const healthCheck = z.looseObject({
  protocol: z
    .enum(['HTTP', 'HTTPS', 'TCP', 'COMMAND', 'MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP'], {
      message: 'must be one of HTTP, HTTPS, TCP, COMMAND, MESOS_HTTP, MESOS_HTTPS, MESOS_TCP',
    })
    .default('HTTP'),
  path: z.string().optional(),
  portIndex: nonNegInt.optional(),
  port: port.optional(),
  command: z.looseObject({ value: nonEmpty }).optional(),
  gracePeriodSeconds: nonNegInt.default(300),
  intervalSeconds: nonNegInt.default(60),
  timeoutSeconds: nonNegInt.default(20),
  maxConsecutiveFailures: nonNegInt.default(3),
  delaySeconds: nonNegInt.default(15),
  ignoreHttp1xx: z.boolean().optional(),
});

const appSchema = z.looseObject({
  id: z.string({ message: 'error.expected.jsstring' }),
  cmd: nonEmpty.optional(),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), envValue).default({}),
  secrets: z.record(z.string(), z.looseObject({ source: nonEmpty })).default({}),
  container: container.optional(),
  portDefinitions: z
    .array(z.looseObject({ port: port.default(0), protocol: z.string().optional(), name: z.string().optional(), labels: z.record(z.string(), z.string()).optional() }))
    .optional(),
  labels: z.record(z.string(), z.string({ message: 'label values must be strings' })).default({}),
  healthChecks: z.array(healthCheck).default([]),
  instances: nonNegInt.default(1),
  cpus: nonNeg.default(1),
  mem: nonNeg.default(128),
  disk: nonNeg.default(0),
  backoffSeconds: nonNegInt.default(1),
  backoffFactor: z.number().min(1).default(1.15),
  maxLaunchDelaySeconds: nonNegInt.default(300),
  /** Placement constraints, checked by {@link readConstraints} (Marathon's messages, by index). */
  constraints: z.unknown().optional(),
});

/** A Marathon app definition read with Marathon's types and defaults; unknown fields are kept as given. */
export type AppDefinition = z.infer<typeof appSchema>;

declare const validated: unique symbol;
/**
 * An app definition that passed every rule ({@link parseAppDefinition}):
 * produced once, at the edge (the API, a reload from disk), with its id
 * absolute. Whatever takes one (the resolver, the scheduler) never
 * validates again.
 */
export type ValidatedApp = AppDefinition & { readonly [validated]: true };
/** A file-based secret volume. */
export type SecretVolume = { containerPath: string; secret: string };
/** A health check with Marathon's defaults filled in. */
export type HealthCheck = z.infer<typeof healthCheck>;

/** Options of {@link parseAppDefinition}. */
export interface ParseAppOptions {
  /** Group that relative ids are resolved against. Default `/`. */
  baseGroup?: string;
}

const pointer = (path: readonly PropertyKey[]): string => `/${path.map(String).join('/')}`;

/** Deepest nesting an app definition may have (real ones stay under 10); checked before anything else reads it. */
export const MAX_DEPTH = 32;
/** Most ports one app may ask for (each takes a cluster-wide service port and a host port per task). */
export const MAX_PORTS = 64;
/** Longest app id: a task's sandbox directory is named after it (plus ~55 characters), and must fit a file name. */
export const MAX_ID_LENGTH = 180;
/** Environment variable names (the pattern of Marathon's `EnvVars` type). */
const ENV_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,253}$/;
/** Secret names: keys of `secrets`, referenced from env and volumes. */
const SECRET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/;
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
const own = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** True when `value` nests deeper than `max` arrays/objects (iterative: a hostile depth cannot overflow the stack). */
function deeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(v as object)) stack.push([child, depth + 1]);
  }
  return false;
}

/** True for a `containerPath` that stays inside the sandbox: relative, no `..` escape. */
export function isSandboxPath(p: string): boolean {
  if (p.startsWith('/') || p.includes('\0')) return false;
  const segs = p.split('/').filter((s) => s && s !== '.');
  let depth = 0;
  for (const s of segs) {
    depth += s === '..' ? -1 : 1;
    if (depth < 0) return false;
  }
  return depth > 0;
}

/** The file-based secret volumes of an app. */
export function secretVolumes(app: AppDefinition): SecretVolume[] {
  return (app.container?.volumes ?? []).filter((v): v is SecretVolume & typeof v => typeof (v as { secret?: unknown }).secret === 'string');
}

/** Optional fields Marathon reads as absent when they are JSON `null` (its own responses carry such nulls). */
const NULLABLE_APP = ['cmd', 'args', 'container', 'portDefinitions', 'env', 'secrets', 'labels', 'healthChecks'] as const;
const NULLABLE_CONTAINER = ['docker', 'volumes', 'portMappings'] as const;

function dropNulls(obj: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out = { ...obj };
  for (const k of keys) if (out[k] === null) delete out[k];
  return out;
}

/**
 * Reads an app definition's structure (types, ranges, defaults) as Marathon's
 * JSON reader does; unknown fields are kept. No cross-field rules: see
 * {@link validateAppDefinition}. Accepts JSON text or a parsed value.
 * @throws MarathonValidationError 400 for JSON that does not parse, 422 for wrong types.
 */
export function readAppDefinition(input: unknown): AppDefinition {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (err) {
      throw new MarathonValidationError(400, [{ path: '/', errors: [`error.invalid.json: ${(err as Error).message}`] }]);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MarathonValidationError(400, [{ path: '/', errors: ['error.expected.jsobject'] }]);
  }
  if (deeperThan(value, MAX_DEPTH)) throw new MarathonValidationError(422, [{ path: '/', errors: [`nests deeper than ${MAX_DEPTH} levels`] }]);
  const app = dropNulls(value as Record<string, unknown>, NULLABLE_APP);
  if (typeof app.container === 'object' && app.container !== null) app.container = dropNulls(app.container as Record<string, unknown>, NULLABLE_CONTAINER);
  const parsed = appSchema.safeParse(app);
  if (!parsed.success) {
    const problems = new DetailCollector();
    for (const issue of parsed.error.issues) problems.add(pointer(issue.path), issue.message);
    throw new MarathonValidationError(422, problems.details());
  }
  return parsed.data;
}

/**
 * Marathon's cross-field rules plus the secret rules this project enforces
 * before anything starts. Changes nothing (a relative `id` is resolved by
 * {@link parseAppDefinition}).
 * @returns every problem with its path; empty when the app is valid.
 */
export function validateAppDefinition(app: AppDefinition, options: ParseAppOptions = {}): ReturnType<DetailCollector['details']> {
  const problems = new DetailCollector();
  const id = resolveAppId(app.id, options.baseGroup);
  if (!id.ok) problems.add('/id', id.error);
  else if (id.id.length > MAX_ID_LENGTH) problems.add('/id', `must be at most ${MAX_ID_LENGTH} characters (a task's sandbox is named after it)`);

  if (app.cmd !== undefined && app.args !== undefined) problems.add('/', "AppDefinition must not contain both 'cmd' and 'args'");
  if (app.cmd === undefined && app.args === undefined && app.container === undefined) {
    problems.add('/', "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'");
  }
  if (app.container?.type === 'DOCKER' && !app.container.docker) problems.add('/container/docker', 'is required for a DOCKER container');

  const used = new Set<string>();
  for (const name of Object.keys(app.secrets)) {
    if (!SECRET_NAME.test(name) || RESERVED_NAMES.has(name)) problems.add(`/secrets/${name}`, "secret names are letters, digits, '_', '.', '-' (at most 63), not a reserved word");
  }
  for (const [name, value] of Object.entries(app.env)) {
    if (!ENV_NAME.test(name) || RESERVED_NAMES.has(name)) problems.add(`/env/${name}`, "environment variable names are letters, digits and '_', not starting with a digit");
    if (typeof value === 'string') continue;
    used.add(value.secret);
    if (!own(app.secrets, value.secret)) problems.add(`/env/${name}/secret`, 'references an undefined secret');
  }
  const paths = new Map<string, number>();
  (app.container?.volumes ?? []).forEach((v, i) => {
    const previous = paths.get(v.containerPath);
    if (previous !== undefined) problems.add(`/container/volumes/${i}/containerPath`, `duplicates the containerPath of volume ${previous}`);
    else paths.set(v.containerPath, i);
    const secret = (v as { secret?: string }).secret;
    if (secret === undefined) return;
    used.add(secret);
    if (!own(app.secrets, secret)) problems.add(`/container/volumes/${i}/secret`, 'volume.secret must refer to an existing secret');
    if (!isSandboxPath(v.containerPath)) {
      problems.add(`/container/volumes/${i}/containerPath`, 'a secret volume must be a relative path inside the sandbox (not absolute, no escaping "..")');
    }
  });
  const pullSecret = (app.container?.docker as { pullConfig?: { secret?: unknown } } | undefined)?.pullConfig?.secret;
  if (typeof pullSecret === 'string') {
    used.add(pullSecret);
    if (!own(app.secrets, pullSecret)) problems.add('/container/docker/pullConfig/secret', 'pullConfig.secret must refer to an existing secret');
  }
  for (const name of Object.keys(app.secrets)) {
    if (!used.has(name)) problems.add(`/secrets/${name}`, 'is declared but referenced by no env variable or volume');
  }

  // Ports are a shared resource (service ports cluster-wide, host ports per agent): a bounded number per app.
  if ((app.portDefinitions?.length ?? 0) > MAX_PORTS) problems.add('/portDefinitions', `at most ${MAX_PORTS} ports per app`);
  if ((app.container?.portMappings?.length ?? 0) > MAX_PORTS) problems.add('/container/portMappings', `at most ${MAX_PORTS} ports per app`);
  // How the task gets AWS credentials (sip agent's endpoint, or its config file in the sandbox).
  const mode = app.labels[CREDENTIALS_LABEL];
  if (mode !== undefined && !isCredentialMode(mode)) problems.add(`/labels/${CREDENTIALS_LABEL}`, `must be one of ${CREDENTIAL_MODES.join(', ')}`);

  for (const p of readConstraints(app.constraints).problems) problems.add(p.path, p.message);

  const ports = [...(app.portDefinitions ?? []).map((p, i) => [p.name, `/portDefinitions/${i}/name`] as const), ...(app.container?.portMappings ?? []).map((p, i) => [p.name, `/container/portMappings/${i}/name`] as const)];
  const portNames = new Set<string>();
  for (const [name, path] of ports) {
    if (!name) continue;
    if (portNames.has(name)) problems.add(path, `port name '${name}' is used more than once`);
    portNames.add(name);
  }
  app.healthChecks.forEach((hc, i) => {
    const portCount = (app.portDefinitions ?? app.container?.portMappings ?? []).length;
    if (hc.protocol !== 'COMMAND' && hc.port === undefined && (hc.portIndex ?? 0) >= Math.max(portCount, 1) && portCount > 0) {
      problems.add(`/healthChecks/${i}/portIndex`, `must be less than the number of ports (${portCount})`);
    }
    if (hc.protocol === 'COMMAND' && !hc.command) problems.add(`/healthChecks/${i}/command`, 'is required for a COMMAND health check');
  });

  return problems.details();
}

/**
 * Reads and validates an app definition as Marathon's `POST /v2/apps` does:
 * {@link readAppDefinition} then {@link validateAppDefinition}; the id comes
 * back absolute (`app` → `/app`, `../x` against `baseGroup`).
 * @throws MarathonValidationError with every problem and its path, in Marathon's 422 shape.
 */
export function parseAppDefinition(input: unknown, options: ParseAppOptions = {}): ValidatedApp {
  const app = readAppDefinition(input);
  const details = validateAppDefinition(app, options);
  if (details.length > 0) throw new MarathonValidationError(422, details);
  const id = resolveAppId(app.id, options.baseGroup);
  return { ...app, id: id.ok ? id.id : app.id } as ValidatedApp;
}
