import { acsAuthenticator, type HttpAuthenticator } from '../../net/httpAuthenticator.js';
import { readBody } from '../../net/readBody.js';
import { serve, type Served } from '../../net/serve.js';
import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import type { Logger } from 'pino';
import { publicError, SipError } from '../../core/errors/SipError.js';
import type { ValidatedApp } from '../../core/marathon/appDefinition.js';
import type { EventBus } from '../../core/marathon/events.js';
import { definitionOf, type ApiRequest, type AppView, type Deployment, type QueueItem, type TaskView } from '../../core/marathon/views.js';
import { groupTree, isUnder } from '../../core/marathon/groups.js';
import { resolveAppId } from '../../core/marathon/appId.js';
import { parseAppDefinition } from '../../core/marathon/appDefinition.js';
import { MarathonValidationError } from '../../core/marathon/validationError.js';

/**
 * The scheduler behind the API: what `/v2/apps`, `/v2/groups`, `/v2/tasks`,
 * `/v2/deployments`, `/v2/queue` and `/v2/events` read and change.
 */
/** What the local cluster is configured with, as `/v2/info` reports it. */
export interface LocalMarathonConfig {
  readonly frameworkId: string;
  readonly agentId: string;
  readonly stateDir: string;
  /** Service ports Marathon hands out (`local_port_min`/`max`). */
  readonly servicePorts: { from: number; to: number };
  /** Host ports the agent offers tasks. */
  readonly hostPorts: { from: number; to: number };
  /** Who tasks run as (Marathon's `mesos_user`). */
  readonly tasksUser: string;
  readonly reconcileIntervalMs: number;
  readonly maxVersions: number;
  readonly resources: { cpus: number; mem: number };
  readonly credentialsMode: string;
}

export interface MarathonBackend {
  /** Marathon's framework id. */
  readonly frameworkId: string;
  /** The cluster's configuration (`/v2/info`). */
  configuration(): LocalMarathonConfig;
  readonly events: Pick<EventBus, 'publish' | 'subscribe'>;
  /** @throws SipError `SIP_APP_EXISTS` */
  addApp(app: ValidatedApp, request?: ApiRequest): Promise<{ app: AppView; deployment: Deployment }>;
  putApp(app: ValidatedApp, request?: ApiRequest): Promise<Deployment>;
  /** @throws SipError `SIP_APP_NOT_FOUND` */
  removeApp(id: string, request?: ApiRequest): Promise<Deployment>;
  /** @throws SipError `SIP_APP_NOT_FOUND` */
  restartApp(id: string, request?: ApiRequest): Promise<Deployment>;
  killTasks(appId: string, taskIds: readonly string[], opts: { scale: boolean }): Promise<{ tasks: TaskView[] } | { deployment: Deployment }>;
  getApp(id: string, withTasks?: boolean): AppView | undefined;
  listApps(withTasks?: boolean): AppView[];
  versions(id: string): string[];
  appAt(id: string, version: string): AppView | undefined;
  tasks(appId?: string): TaskView[];
  deployments(): Deployment[];
  cancelDeployment(id: string, force: boolean): Promise<Deployment | undefined>;
  queue(): QueueItem[];
}

/** Dependencies of {@link createMarathonApi}. */
export interface MarathonApiDeps {
  cluster: MarathonBackend;
  /**
   * The ACS token every request but `GET /ping` must carry as
   * `Authorization: token=<token>`, as on a DC/OS cluster in strict mode.
   */
  token: string;
  logger: Logger;
  /** Tokens a login issued (service accounts), accepted beside `token` until they expire: their principal. */
  issued?: (token: string) => string | undefined;
  /**
   * Instead of DC/OS's token: Marathon's own `--http_credentials` (HTTP
   * Basic, realm `--http_realm`, default `Mesosphere`). `GET /ping` stays open.
   */
  authenticator?: HttpAuthenticator;
  /** The event stream's heartbeat period, ms (Jetty's `heartBeatPeriod`; default 10 s). */
  heartbeatMs?: number;
}

const MAX_BODY = 1024 * 1024;

const truthy = (v: unknown): boolean => [v].flat().some((x) => x === 'true' || x === '1' || x === '');
const list = (v: string | string[] | undefined): string[] =>
  [v ?? []]
    .flat()
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter(Boolean);
const deploymentResult = (d: Deployment): { deploymentId: string; version: string } => ({ deploymentId: d.id, version: d.version });

/** Longest `?label=` selector taken. */
const MAX_SELECTOR = 2048;

/** One term of a label selector. */
type SelectorTerm = { key: string; op: 'exists' | '==' | '!=' | 'in' | 'notin'; values: string[] };

/**
 * Parses Marathon's label selector (`?label=`): comma-separated `key`,
 * `key==value`, `key!=value`, `key in (a, b)`, `key notin (a, b)`. Linear
 * (no backtracking regex) and bounded.
 * @throws MarathonValidationError 400 for one over {@link MAX_SELECTOR} characters.
 */
export function parseLabelSelector(selector: string): SelectorTerm[] {
  if (selector.length > MAX_SELECTOR)
    throw new MarathonValidationError(400, [{ path: '/label', errors: [`a label selector is at most ${MAX_SELECTOR} characters`] }]);
  const terms: SelectorTerm[] = [];
  let i = 0;
  while (i < selector.length) {
    // A term ends at a comma outside parentheses.
    let depth = 0;
    let j = i;
    for (; j < selector.length; j++) {
      const c = selector[j];
      if (c === '(') depth++;
      else if (c === ')') depth = Math.max(0, depth - 1);
      else if (c === ',' && depth === 0) break;
    }
    const term = selector.slice(i, j).trim();
    i = j + 1;
    if (!term) continue;
    const eq = term.indexOf('==');
    const ne = term.indexOf('!=');
    const open = term.indexOf('(');
    if (eq > 0 && (ne < 0 || eq < ne)) terms.push({ key: term.slice(0, eq).trim(), op: '==', values: [term.slice(eq + 2).trim()] });
    else if (ne > 0) terms.push({ key: term.slice(0, ne).trim(), op: '!=', values: [term.slice(ne + 2).trim()] });
    else if (open > 0 && term.endsWith(')')) {
      const head = term.slice(0, open).trim();
      const sp = head.lastIndexOf(' ');
      const op = head.slice(sp + 1);
      const values = term
        .slice(open + 1, -1)
        .split(',')
        .map((v) => v.trim());
      if (sp > 0 && (op === 'in' || op === 'notin')) terms.push({ key: head.slice(0, sp).trim(), op, values });
      else terms.push({ key: term, op: 'exists', values: [] });
    } else terms.push({ key: term, op: 'exists', values: [] });
  }
  return terms;
}

/** Whether labels satisfy every term of a parsed selector. */
export function matchesLabelSelector(labels: Record<string, string>, terms: readonly SelectorTerm[]): boolean {
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(labels, k);
  return terms.every((t) => {
    const v = has(t.key) ? labels[t.key] : undefined;
    switch (t.op) {
      case 'exists':
        return v !== undefined;
      case '==':
        return v === t.values[0];
      case '!=':
        return v !== t.values[0];
      case 'in':
        return v !== undefined && t.values.includes(v);
      case 'notin':
        return v === undefined || !t.values.includes(v);
    }
  });
}

/** A request's origin and URI, as Marathon records it in `api_post_event`. */
const requestOf = (ctx: Context, uri: string): ApiRequest => ({ clientIp: ctx.ip, uri });
const bodyOf = async (ctx: Context): Promise<unknown> => jsonValue((await readBody(ctx.req, MAX_BODY)) || '{}');
/** A RegExp route's captures, raw (never decoded twice: `canonical` decodes app ids once). */
const captures = (ctx: Context): Array<string | undefined> => (ctx as Context & { captures?: Array<string | undefined> }).captures ?? [];
/** An app id path segment that is not one of an app's own resources. */
const APP = '(\\/(?:(?!\\/(?:tasks|versions|restart)(?:\\/|$)).)+)';

/**
 * Marathon's v2 routes over the backend, one per method and path (RegExp
 * paths where an app id holds slashes), as Marathon's RAML lists them.
 */
function marathonRoutes(deps: MarathonApiDeps): Router {
  const { cluster } = deps;
  const router = new Router();
  const found = (id: string, withTasks = false): AppView => {
    const a = cluster.getApp(id, withTasks);
    if (!a) throw new SipError('SIP_APP_NOT_FOUND', `App '${id}' does not exist`);
    return a;
  };
  /** PUT/PATCH of one app, validated: merged over the current definition unless `partialUpdate=false`. */
  const merged = (id: string, given: unknown, partial: boolean): ValidatedApp => {
    const patch = objectOf(given);
    const current = cluster.getApp(id, false);
    return parseAppDefinition(partial && current ? { ...definitionOf(current), ...patch, id } : { ...patch, id });
  };
  const partialUpdate = (ctx: Context): boolean => (ctx.query.partialUpdate === undefined ? true : truthy(ctx.query.partialUpdate));
  const deployed = (ctx: Context, d: Deployment): void => {
    ctx.set('Marathon-Deployment-Id', d.id);
    ctx.body = deploymentResult(d);
  };

  router.get('/v2/info', (ctx) => void (ctx.body = info(ctx.host, cluster.configuration())));
  router.get('/v2/leader', (ctx) => void (ctx.body = { leader: ctx.host }));
  router.get('/v2/queue', (ctx) => void (ctx.body = { queue: cluster.queue() }));
  router.get('/v2/events', (ctx) => events(ctx, cluster, deps.heartbeatMs ?? 10_000));
  router.get('/v2/deployments', (ctx) => void (ctx.body = cluster.deployments()));
  router.delete(/^\/v2\/deployments\/([^/]+)$/, async (ctx) => {
    const d = await cluster.cancelDeployment(captures(ctx)[0]!, truthy(ctx.query.force));
    if (!d) return void (ctx.status = 202);
    deployed(ctx, d);
  });
  router.get('/v2/tasks', (ctx) => {
    const wanted = list(ctx.query.status as string | string[] | undefined).map((st) => `TASK_${st.toUpperCase()}`);
    ctx.body = { tasks: cluster.tasks().filter((t) => wanted.length === 0 || wanted.includes(t.state)) };
  });
  router.post('/v2/tasks/delete', async (ctx) => {
    const ids = (objectOf(await bodyOf(ctx)).ids ?? []) as unknown;
    if (!Array.isArray(ids) || ids.some((i) => typeof i !== 'string'))
      throw new MarathonValidationError(422, [{ path: '/ids', errors: ['error.expected.jsarray of task ids'] }]);
    ctx.body = await killMany(cluster, ids as string[], truthy(ctx.query.scale));
  });

  router.get('/v2/apps', (ctx) => void (ctx.body = { apps: filterApps(cluster, ctx.query) }));
  router.post('/v2/apps', async (ctx) => {
    const def = parseAppDefinition(await readBody(ctx.req, MAX_BODY));
    const { app: created, deployment } = await cluster.addApp(def, requestOf(ctx, `/v2/apps${def.id}`));
    ctx.status = 201;
    ctx.set('Location', `/v2/apps${def.id}`);
    ctx.set('Marathon-Deployment-Id', deployment.id);
    ctx.body = { ...created, deployments: [{ id: deployment.id }] };
  });
  // Many apps at once: every one is checked before any is changed, so a bad one changes nothing.
  const putMany = async (ctx: Context): Promise<void> => {
    const given = await bodyOf(ctx);
    if (!Array.isArray(given)) throw new MarathonValidationError(400, [{ path: '/', errors: ['error.expected.jsarray'] }]);
    const defs = given.map((one, i) => {
      const id = typeof (one as { id?: unknown })?.id === 'string' ? (one as { id: string }).id : '';
      const resolved = resolveAppId(id);
      if (!resolved.ok) throw new MarathonValidationError(422, [{ path: `/${i}/id`, errors: [resolved.error] }]);
      return merged(resolved.id, one, ctx.method === 'PATCH' || partialUpdate(ctx));
    });
    let last: Deployment | undefined;
    for (const def of defs) last = await cluster.putApp(def, requestOf(ctx, `/v2/apps${def.id}`));
    ctx.body = last ? deploymentResult(last) : { deploymentId: null, version: new Date().toISOString() };
  };
  router.put('/v2/apps', putMany);
  router.patch('/v2/apps', putMany);

  router.get(/^\/v2\/apps(\/.+?)\/tasks$/, (ctx) => {
    const id = canonical(captures(ctx)[0]!);
    found(id);
    ctx.body = { tasks: cluster.tasks(id) };
  });
  router.delete(/^\/v2\/apps(\/.+?)\/tasks(?:\/([^/]+))?$/, async (ctx) => {
    const [raw, taskId] = captures(ctx);
    const id = canonical(raw!);
    found(id);
    const host = ctx.query.host as string | undefined;
    const ids = taskId
      ? [taskId]
      : cluster
          .tasks(id)
          .filter((t) => !host || host === '*' || t.host === host)
          .map((t) => t.id);
    const r = await cluster.killTasks(id, ids, { scale: truthy(ctx.query.scale) });
    if ('deployment' in r) return void (ctx.body = deploymentResult(r.deployment));
    ctx.body = taskId ? { task: r.tasks[0] } : { tasks: r.tasks };
  });
  router.get(/^\/v2\/apps(\/.+?)\/versions(?:\/([^/]+))?$/, (ctx) => {
    const [raw, version] = captures(ctx);
    const id = canonical(raw!);
    found(id);
    if (!version) return void (ctx.body = { versions: cluster.versions(id) });
    const at = cluster.appAt(id, version);
    if (!at) throw new SipError('SIP_APP_NOT_FOUND', `App '${id}' does not exist in version ${version}`);
    ctx.body = definitionWithVersion(at);
  });
  router.post(/^\/v2\/apps(\/.+?)\/restart$/, async (ctx) => {
    const raw = captures(ctx)[0]!;
    deployed(ctx, await cluster.restartApp(canonical(raw), requestOf(ctx, `/v2/apps${raw}/restart`)));
  });
  const oneApp = new RegExp(`^\\/v2\\/apps${APP}$`);
  router.get(oneApp, (ctx) => void (ctx.body = { app: found(canonical(captures(ctx)[0]!), true) }));
  const putOne = async (ctx: Context): Promise<void> => {
    const id = canonical(captures(ctx)[0]!);
    if (ctx.method === 'PATCH') found(id);
    const def = merged(id, await bodyOf(ctx), ctx.method === 'PATCH' || partialUpdate(ctx));
    deployed(ctx, await cluster.putApp(def, requestOf(ctx, `/v2/apps${def.id}`)));
  };
  router.put(oneApp, putOne);
  router.patch(oneApp, putOne);
  router.delete(oneApp, async (ctx) => {
    const id = canonical(captures(ctx)[0]!);
    deployed(ctx, await cluster.removeApp(id, requestOf(ctx, `/v2/apps${id}`)));
  });

  // Groups: one handler for the tree under a group id; a method or resource it does not serve falls through.
  router.all(/^\/v2\/groups(\/.*)?$/, async (ctx, next) => {
    const served = await groups(
      ctx,
      cluster,
      captures(ctx)[0] || '/',
      ctx.method,
      () => bodyOf(ctx),
      (uri) => requestOf(ctx, uri),
    );
    if (!served) await next();
  });
  return router;
}

/**
 * A Marathon-compatible REST API over the local cluster, as Marathon 1.11's
 * RAML documents it: `/v2/apps` (GET with `id`/`cmd`/`label` filters and
 * `embed`, POST, PUT/PATCH of one app or many with `partialUpdate`,
 * DELETE, `/restart`, `/tasks` kill with `scale`/`wipe`, `/versions`),
 * `/v2/groups`, `/v2/tasks` (+ `/delete`), `/v2/deployments` (DELETE rolls
 * back, or stops with `force`), `/v2/queue`, `/v2/info`, `/v2/leader`,
 * `/ping`, and `/v2/events` as Server-Sent Events. Shapes and status codes
 * follow Marathon's (422 validation details, 409, 404). A URI it does not
 * serve answers 404 saying so, never that an app is missing. Every route but
 * `/ping` needs the ACS token (401 and an `acsjwt` challenge otherwise), as
 * Admin Router enforces on DC/OS in strict mode.
 */
export function createMarathonApi(deps: MarathonApiDeps): Koa {
  const app = new Koa();
  app.silent = true;

  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      // Status and whether the message may be shown come from the error catalogue.
      const answer = publicError(err);
      ctx.status = answer.status;
      ctx.body = err instanceof MarathonValidationError ? err.body : { message: answer.message };
      if (answer.status >= 500) deps.logger.error({ code: answer.code, err: { name: (err as Error).name } }, 'marathon api error');
    }
  });

  const authenticator = deps.authenticator ?? acsAuthenticator(deps.token, deps.issued);
  // Marathon ignores a trailing slash; routes are matched on the path without it.
  app.use(async (ctx, next) => {
    const path = ctx.path.replace(/\/+$/, '') || '/';
    if (path !== ctx.path) ctx.path = path;
    if (path === '/ping' && ctx.method === 'GET') {
      ctx.type = 'text/plain';
      ctx.body = 'pong';
      return;
    }
    if (authenticator.check(ctx.get('authorization') || undefined) === undefined) {
      ctx.set('WWW-Authenticate', authenticator.challenge);
      throw new SipError(
        'SIP_UNAUTHORIZED',
        authenticator.challenge === 'acsjwt' ? 'a valid "Authorization: token=<ACS token>" header is required' : 'Unauthorized',
      );
    }
    await next();
  });
  const router = marathonRoutes(deps);
  app.use(router.routes());
  app.use((ctx) => {
    throw new SipError(
      'SIP_URI_NOT_SUPPORTED',
      `${ctx.method} ${ctx.path} is not supported by this Marathon (the local cluster serves /v2/apps, /v2/groups, /v2/tasks, /v2/deployments, /v2/queue, /v2/events, /v2/info, /v2/leader)`,
    );
  });
  return app;
}

/** An app id from a URL: canonical only (`/a/../b` or `/a/./b` would bypass the lookup that partial updates merge over). */
function canonical(raw: string): string {
  const r = resolveAppId(raw);
  if (!r.ok || r.id !== raw)
    throw new MarathonValidationError(422, [{ path: '/id', errors: [r.ok ? `'${raw}' is not in canonical form (${r.id})` : r.error] }]);
  return r.id;
}

/** `/v2/info` as Marathon 1.11 shapes it, filled from the local cluster's own configuration. */
function info(host: string, c: LocalMarathonConfig): Record<string, unknown> {
  const [hostname, port] = host.split(':');
  // Marathon's keys, each the cluster's real value, or null where the local cluster has no such setting.
  const none = [
    'access_control_allow_origin',
    'decline_offer_duration',
    'default_network_name',
    'env_vars_prefix',
    'failover_timeout',
    'launch_token',
    'launch_token_refresh_interval',
    'leader_proxy_connection_timeout_ms',
    'leader_proxy_read_timeout_ms',
    'max_instances_per_offer',
    'mesos_bridge_name',
    'mesos_heartbeat_failure_threshold',
    'mesos_heartbeat_interval',
    'mesos_leader_ui_url',
    'min_revive_offers_interval',
    'offer_matching_timeout',
    'on_elected_prepare_timeout',
    'reconciliation_initial_delay',
    'scale_apps_initial_delay',
    'scale_apps_interval',
    'store_cache',
    'task_launch_confirm_timeout',
    'task_launch_timeout',
    'task_lost_expunge_initial_delay',
    'task_lost_expunge_interval',
    'task_reservation_timeout',
    'webui_url',
  ];
  return {
    name: 'marathon',
    version: '1.11.0-sip-local',
    buildref: 'sip-local',
    elected: true,
    leader: host,
    frameworkId: c.frameworkId,
    marathon_config: {
      ...Object.fromEntries(none.map((k) => [k, null])),
      checkpoint: true,
      executor: '//cmd',
      features: ['secrets'],
      framework_name: 'marathon',
      ha: false,
      hostname,
      local_port_min: c.servicePorts.from,
      local_port_max: c.servicePorts.to,
      master: `local agent ${c.agentId}`,
      mesos_role: '*',
      mesos_user: c.tasksUser,
      reconciliation_interval: c.reconcileIntervalMs,
      local_cluster: { host_ports: c.hostPorts, resources: c.resources, max_versions_per_app: c.maxVersions, default_credentials_mode: c.credentialsMode },
    },
    zookeeper_config: {
      zk: null,
      zk_compression: null,
      zk_compression_threshold: null,
      zk_connection_timeout: null,
      zk_max_node_size: null,
      zk_max_versions: c.maxVersions,
      zk_session_timeout: null,
      zk_timeout: null,
      state_dir: c.stateDir,
    },
    http_config: { http_port: Number(port) || 80, https_port: null },
    event_subscriber: null,
  };
}

/** An app at one version, as `/versions/{version}` shows it: the definition with `version`. */
function definitionWithVersion(view: AppView): Record<string, unknown> {
  return { ...definitionOf(view), version: view.version, versionInfo: view.versionInfo };
}

/** `GET /v2/apps` with Marathon's `id` (substring), `cmd` (substring), `label` (selector) filters and `embed`. */
function filterApps(cluster: MarathonBackend, query: Record<string, string | string[] | undefined>): AppView[] {
  const one = (k: string): string | undefined => [query[k] ?? []].flat()[0];
  const embed = list(query.embed);
  const id = one('id');
  const cmd = one('cmd');
  const label = one('label');
  const terms = label ? parseLabelSelector(label) : [];
  return cluster
    .listApps(embed.includes('apps.tasks'))
    .filter((a) => !id || a.id.toLowerCase().includes(id.toLowerCase()))
    .filter((a) => !cmd || (a.cmd ?? '').includes(cmd))
    .filter((a) => terms.length === 0 || matchesLabelSelector(a.labels, terms));
}

/** `POST /v2/tasks/delete`: the tasks grouped by app; ids of no app are ignored, as in Marathon. */
async function killMany(cluster: MarathonBackend, ids: readonly string[], scale: boolean): Promise<Record<string, unknown>> {
  const byApp = new Map<string, string[]>();
  const all = cluster.tasks();
  for (const id of new Set(ids)) {
    const t = all.find((x) => x.id === id);
    // Tasks of an app being removed are already going: left out, so no other app is changed and then an error thrown.
    if (t && cluster.getApp(t.appId, false)) byApp.set(t.appId, [...(byApp.get(t.appId) ?? []), id]);
  }
  const killed: TaskView[] = [];
  let last: Deployment | undefined;
  for (const [appId, taskIds] of byApp) {
    const r = await cluster.killTasks(appId, taskIds, { scale });
    if ('deployment' in r) last = r.deployment;
    else killed.push(...r.tasks);
  }
  if (scale) return last ? deploymentResult(last) : { deploymentId: null, version: new Date().toISOString() };
  return { tasks: killed };
}

/** `/v2/groups[/{id}]`: GET the tree, POST/PUT apps into a group, DELETE a group's apps. False when not served. */
async function groups(
  ctx: Context,
  cluster: MarathonBackend,
  rawId: string,
  method: string,
  body: () => Promise<unknown>,
  request: (uri: string) => ApiRequest,
): Promise<boolean> {
  if (/\/versions(\/|$)/.test(rawId)) return false;
  const resolved = rawId === '/' ? { ok: true as const, id: '/' } : resolveAppId(rawId);
  if (!resolved.ok) throw new MarathonValidationError(422, [{ path: '/id', errors: [resolved.error] }]);
  const id = resolved.id;
  const apps = (): AppView[] => cluster.listApps(true);
  if (method === 'GET') {
    const tree = groupTree(apps(), id);
    if (!tree) throw new SipError('SIP_GROUP_NOT_FOUND', `Group '${id}' does not exist`);
    ctx.body = tree;
    return true;
  }
  if (method === 'DELETE') {
    const under = apps().filter((a) => isUnder(a.id, id));
    if (id !== '/' && under.length === 0) throw new SipError('SIP_GROUP_NOT_FOUND', `Group '${id}' does not exist`);
    let last: Deployment | undefined;
    for (const a of under) last = await cluster.removeApp(a.id, request(`/v2/groups${id}`));
    ctx.body = last ? deploymentResult(last) : { deploymentId: null, version: new Date().toISOString() };
    return true;
  }
  if (method === 'POST' || method === 'PUT') {
    const given = objectOf(await body());
    const groupId = method === 'POST' ? (typeof given.id === 'string' ? resolveAppId(given.id, id) : { ok: true as const, id }) : { ok: true as const, id };
    if (!groupId.ok) throw new MarathonValidationError(422, [{ path: '/id', errors: [groupId.error] }]);
    if (method === 'POST' && groupTree(apps(), groupId.id) && groupId.id !== '/') {
      throw new SipError('SIP_APP_EXISTS', `Group ${groupId.id} is already created. Use PUT to change this group.`);
    }
    // Every app is checked (and must lie under the group) before any is changed.
    const checked = flattenGroup(given, groupId.id).map((def, i) => {
      const app = parseAppDefinition(def.app, { baseGroup: def.group });
      if (!isUnder(app.id, groupId.id) || app.id === groupId.id)
        throw new MarathonValidationError(422, [{ path: `/apps/${i}/id`, errors: [`${app.id} is not under the group ${groupId.id}`] }]);
      return app;
    });
    let last: Deployment | undefined;
    for (const app of checked) {
      last =
        method === 'POST'
          ? (await cluster.addApp(app, request(`/v2/groups${groupId.id}`))).deployment
          : await cluster.putApp(app, request(`/v2/groups${groupId.id}`));
    }
    ctx.status = method === 'POST' ? 201 : 200;
    ctx.body = last ? deploymentResult(last) : { deploymentId: null, version: new Date().toISOString() };
    return true;
  }
  return false;
}

/** The apps of a group document and its subgroups, each with the group its relative id resolves against. */
function flattenGroup(group: Record<string, unknown>, groupId: string): Array<{ app: unknown; group: string }> {
  const out: Array<{ app: unknown; group: string }> = [];
  const walk = (g: Record<string, unknown>, gid: string, depth: number): void => {
    if (depth > 8) throw new MarathonValidationError(422, [{ path: '/groups', errors: ['groups nest deeper than 8'] }]);
    for (const a of Array.isArray(g.apps) ? g.apps : []) out.push({ app: a, group: gid });
    for (const sub of Array.isArray(g.groups) ? g.groups : []) {
      const o = objectOf(sub);
      const r = resolveAppId(typeof o.id === 'string' ? o.id : '', gid);
      if (!r.ok) throw new MarathonValidationError(422, [{ path: '/groups/id', errors: [r.error] }]);
      walk(o, r.id, depth + 1);
    }
  };
  walk(group, groupId, 0);
  return out;
}

/** A request body as JSON, or Marathon's 400. */
function jsonValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new MarathonValidationError(400, [{ path: '/', errors: [`error.invalid.json: ${(err as Error).message}`] }]);
  }
}

/** A value that must be a JSON object, or Marathon's 400. */
function objectOf(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new MarathonValidationError(400, [{ path: '/', errors: ['error.expected.jsobject'] }]);
  return value as Record<string, unknown>;
}

/** Jetty's `EventSourceServlet` (which Marathon's `HttpEventStreamServlet` extends): every line ends CRLF. */
const CRLF = '\r\n';

/**
 * `GET /v2/events`: Server-Sent Events framed byte for byte as Marathon
 * serves them through Jetty's `EventSourceServlet`
 * (jetty-servlets/…/EventSourceServlet.java; Marathon's
 * core/event/impl/stream/HttpEventStreamServlet.scala): only when an `Accept`
 * header line is exactly `text/event-stream` (else 405, as `HttpServlet`
 * answers a GET it does not serve); `Connection: close` and no chunking;
 * `event: <type>\r\ndata: <json>\r\n\r\n`; a heartbeat of `\r` and
 * `\n`, written and flushed separately, every `heartbeatMs` (Jetty's
 * `heartBeatPeriod`, 10 s). First `event_stream_attached`; `?event_type=` filters.
 */
function events(ctx: Context, cluster: MarathonBackend, heartbeatMs: number): void {
  if (!ctx.req.headersDistinct.accept?.includes('text/event-stream')) {
    ctx.status = 405;
    ctx.type = 'text/html';
    ctx.body = '<html><body><h2>HTTP ERROR 405</h2><p>HTTP method GET is not supported by this URL</p></body></html>';
    return;
  }
  const wanted = new Set([ctx.query.event_type ?? []].flat());
  ctx.respond = false;
  const res = ctx.res;
  // As Jetty with `Connection: close`: the body is not chunked and ends when the connection does.
  res.useChunkedEncodingByDefault = false;
  res.shouldKeepAlive = false;
  res.writeHead(200, { 'Content-Type': 'text/event-stream;charset=utf-8', Connection: 'close' });
  const write = (e: { eventType: string }): void => void res.write(`event: ${e.eventType}${CRLF}data: ${JSON.stringify(e)}${CRLF}${CRLF}`);
  const send = (e: { eventType: string }): void => {
    if (wanted.size === 0 || wanted.has(e.eventType)) write(e);
  };
  // Always sent first, whatever the filter: tells the client it is attached.
  write({ eventType: 'event_stream_attached', remoteAddress: ctx.ip, timestamp: new Date().toISOString() } as { eventType: string });
  const unsubscribe = cluster.events.subscribe(send);
  const heartbeat = setInterval(() => {
    res.write('\r');
    setImmediate(() => res.write('\n'));
  }, heartbeatMs);
  ctx.req.socket.once('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
}

/** A running Marathon API. */
export type MarathonServer = Served;

/** Serves {@link createMarathonApi} on loopback (port 0 or omitted = a free one). */
export function startMarathonServer(deps: MarathonApiDeps & { host?: string; port?: number }): Promise<MarathonServer> {
  return serve(createMarathonApi(deps).callback(), deps);
}
