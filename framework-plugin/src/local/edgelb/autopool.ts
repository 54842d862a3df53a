import type { AppView } from '../../core/marathon/views.js';
import { parseTaskLabels, type GroupLabels, type LabelError, type Rule } from './labels.js';
import type { Pool, PoolBackend, PoolFrontend, PoolServer } from './pool.js';

/** Options of {@link autoPools}. */
export interface AutoPoolOptions {
  /** Address frontends bind. Default `127.0.0.1` (the local cluster is loopback-only). */
  bindAddress?: string;
  /** Where a frontend asking for port 80 (the default HTTP port) binds locally, e.g. 10080. */
  httpPort: number;
  /**
   * Hosts already routed, and to which app (from the previous render): an
   * app keeps its hosts while it lives and claims them, whatever its id.
   */
  claims?: ReadonlyMap<string, string>;
}

/** The pools derived from the apps, and the apps whose labels are wrong. */
export interface AutoPoolResult {
  readonly pools: Pool[];
  readonly errors: ReadonlyArray<{ appId: string; errors: LabelError[] }>;
  /** Which app each `hostEq` host (and each backend name) is routed to now; pass it to the next render. */
  readonly claims: ReadonlyMap<string, string>;
}

/** An app without label groups gets a backend of its own, named after it (never one shared with other apps). */
const defaultGroup = (appId: string): string => `default.${appId.slice(1).replace(/\//g, '.')}`;
/** The claim key of a backend name in a pool: a backend belongs to one app. */
const backendKey = (pool: string, group: string): string => `backend:${pool}:${group}`;

type FrontendDraft = { protocol: 'HTTP' | 'TCP'; rules: Array<Rule & { backend: string }> };

/** Ports of an app by name, in index order (portDefinitions, else portMappings). */
function portNames(app: AppView): Array<string | undefined> {
  return (app.portDefinitions ?? app.container?.portMappings ?? []).map((p) => p.name);
}

/** HAProxy's `cookie` arguments for Edge-LB's sticky option: the custom string, or an inserted cookie. */
export function stickyCookie(customStr: string | undefined): string {
  return customStr?.trim() ? customStr.trim() : 'SIP_SERVERID insert indirect nocache httponly';
}

/** Servers for tasks: the port at `portIndex`, or a fixed `port` on the task's host. */
export function tasksAsServers(tasks: AppView['tasks'], portIndex: number | undefined, port?: number, extra: Partial<PoolServer> = {}): PoolServer[] {
  return (tasks ?? []).flatMap((t) => {
    const p = port ?? (portIndex === undefined ? undefined : t.ports[portIndex]);
    return p === undefined ? [] : [{ name: t.id, host: t.host, port: p, ...extra }];
  });
}

/** Running tasks that pass their health checks (all running tasks when there are none). */
export function servingTasks(app: AppView): AppView['tasks'] {
  return (app.tasks ?? []).filter(
    (t) =>
      t.state === 'TASK_RUNNING' &&
      (app.healthChecks.length === 0 || (t.healthCheckResults.length === app.healthChecks.length && t.healthCheckResults.every((h) => h.alive))),
  );
}

/**
 * Edge-LB's Auto Pools: every app labelled `edgelb.expose=true` joins pool
 * `auto-<edgelb.template>`; each label group becomes a backend (named after
 * the group) whose servers are the app's running, healthy tasks on the
 * group's `backend.portName` (default: the first port), and its
 * `frontend.rules` become that frontend's routing rules (default `pathBeg:/`).
 * Apps with bad labels are reported and left out; the others still route.
 */
export function autoPools(apps: readonly AppView[], options: AutoPoolOptions): AutoPoolResult {
  const bindAddress = options.bindAddress ?? '127.0.0.1';
  const errors: Array<{ appId: string; errors: LabelError[] }> = [];
  const pools = new Map<string, { frontends: Map<number, FrontendDraft>; backends: Map<string, PoolBackend> }>();
  const parsedApps = [...apps]
    .sort((a, b) => a.version.localeCompare(b.version) || a.id.localeCompare(b.id))
    .map((app) => ({ app, parsed: parseTaskLabels(app.labels) }));
  const claims = hostClaims(parsedApps, options.claims ?? new Map());

  for (const { app, parsed } of parsedApps) {
    if (!parsed.ok) {
      errors.push({ appId: app.id, errors: parsed.errors });
      continue;
    }
    if (parsed.labels.expose !== 'true') continue;
    const poolName = `auto-${parsed.labels.template}`;
    const pool = pools.get(poolName) ?? { frontends: new Map(), backends: new Map() };
    pools.set(poolName, pool);
    const groups = Object.entries(parsed.labels).filter(([k]) => k !== 'expose' && k !== 'template') as Array<[string, GroupLabels]>;
    if (groups.length === 0) groups.push([defaultGroup(app.id), {}]);
    const names = portNames(app);
    const appErrors: LabelError[] = [];
    for (const [group, g] of groups) {
      const portName = g.backend?.portName;
      const portIndex = portName === undefined ? 0 : names.indexOf(portName);
      if (portIndex < 0) {
        appErrors.push({ label: `edgelb.${group}.backend.portName`, message: `the app has no port named "${portName}"` });
        continue;
      }
      const protocol = g.frontend?.protocol === 'TCP' ? 'TCP' : 'HTTP';
      if (g.frontend?.protocol && g.frontend.protocol !== 'HTTP' && g.frontend.protocol !== 'TCP') {
        appErrors.push({
          label: `edgelb.${group}.frontend.protocol`,
          message: `${g.frontend.protocol} needs certificates, which the local EdgeLB does not serve; use HTTP or TCP`,
        });
        continue;
      }
      const requested = Number(g.frontend?.port ?? (protocol === 'HTTP' ? 80 : NaN));
      if (Number.isNaN(requested)) {
        appErrors.push({ label: `edgelb.${group}.frontend.port`, message: 'is required for TCP' });
        continue;
      }
      const bindPort = requested === 80 ? options.httpPort : requested;
      // A host another app is routed to stays that app's: a later claim is refused, never ordered first.
      const taken = (g.frontend?.rules ?? []).map((r) => r.hostEq).find((h) => h !== undefined && claims.get(h) !== app.id);
      if (taken) {
        appErrors.push({ label: `edgelb.${group}.frontend.rules`, message: `host ${taken} is already routed to app ${claims.get(taken)}` });
        continue;
      }
      // A host regex may not reach a host another app holds.
      const reaching = (g.frontend?.rules ?? []).flatMap((r) =>
        r.hostReg ? [...claims].filter(([h, owner]) => !h.includes(':') && owner !== app.id && new RegExp(r.hostReg!, 'i').test(h)) : [],
      )[0];
      if (reaching) {
        appErrors.push({ label: `edgelb.${group}.frontend.rules`, message: `hostReg matches host ${reaching[0]}, which is routed to app ${reaching[1]}` });
        continue;
      }
      // A backend (label group) belongs to one app: joining another app's backend would take a share of its traffic.
      const owner = claims.get(backendKey(poolName, group));
      if (owner !== undefined && owner !== app.id) {
        appErrors.push({
          label: `edgelb.${group}`,
          message: `group ${group} is already the backend of app ${owner} in pool ${poolName}; choose another group name`,
        });
        continue;
      }
      // One port, one protocol: an HTTP frontend cannot take a TCP app, nor the reverse.
      const sharedFrontend = pool.frontends.get(bindPort);
      if (sharedFrontend && sharedFrontend.protocol !== protocol) {
        appErrors.push({ label: `edgelb.${group}.frontend.port`, message: `port ${requested} already serves ${sharedFrontend.protocol} for other apps` });
        continue;
      }
      const endpoint = g.backend?.endpoint;
      let servers: PoolServer[];
      if (endpoint?.type === 'ADDRESS') {
        const port = Number(endpoint.port);
        if (!endpoint.address || !Number.isInteger(port) || port < 1 || port > 65535) {
          appErrors.push({
            label: `edgelb.${group}.backend.endpoint`,
            message: 'type ADDRESS needs address and port (e.g. type:ADDRESS|address:10.0.0.1|port:8080)',
          });
          continue;
        }
        servers = [{ name: `address_${endpoint.address}_${port}`, host: endpoint.address, port }];
      } else {
        servers = tasksAsServers(servingTasks(app), endpoint?.port ? undefined : portIndex, endpoint?.port ? Number(endpoint.port) : undefined);
      }
      const existing = pool.backends.get(group);
      pool.backends.set(group, {
        name: group,
        protocol,
        balance: g.backend?.balance ?? existing?.balance ?? 'roundrobin',
        servers: [...(existing?.servers ?? []), ...servers],
        ...(g.backend?.rewriteHttp?.path ? { rewritePath: rewrite(g.backend.rewriteHttp.path) } : {}),
        ...(g.backend?.rewriteHttp?.sticky !== undefined ? { sticky: stickyCookie(g.backend.rewriteHttp.sticky) } : {}),
      });
      const fe: FrontendDraft = pool.frontends.get(bindPort) ?? { protocol, rules: [] };
      pool.frontends.set(bindPort, fe);
      for (const rule of g.frontend?.rules ?? [{ pathBeg: '/' }]) {
        if (
          !fe.rules.some(
            (r: Rule & { backend: string }) =>
              r.backend === group && JSON.stringify({ ...r, backend: undefined }) === JSON.stringify({ ...rule, backend: undefined }),
          )
        )
          fe.rules.push({ ...rule, backend: group });
      }
    }
    if (appErrors.length > 0) errors.push({ appId: app.id, errors: appErrors });
  }

  return {
    errors,
    claims,
    pools: [...pools].map(([name, p]) => ({
      name,
      frontends: [...p.frontends]
        .sort(([a], [b]) => a - b)
        .map(([port, f]): PoolFrontend => ({
          name: `frontend_${bindAddress}_${port}`,
          bindAddress,
          bindPort: port,
          protocol: f.protocol,
          // Most specific first, as Edge-LB users expect: host+path, host, path.
          rules: [...f.rules].sort((a: Rule, b: Rule) => specificity(b) - specificity(a)),
        })),
      backends: [...p.backends.values()],
    })),
  };
}

/**
 * Who holds each `hostEq` host: previous holders keep theirs while they
 * exist and still ask for it; a free host goes to the first app asking, in
 * order of last change (an app deployed later cannot take a host).
 */
function hostClaims(
  apps: ReadonlyArray<{ app: AppView; parsed: ReturnType<typeof parseTaskLabels> }>,
  previous: ReadonlyMap<string, string>,
): Map<string, string> {
  const wants = new Map<string, Set<string>>();
  for (const { app, parsed } of apps) {
    if (!parsed.ok || parsed.labels.expose !== 'true') continue;
    const hosts = new Set<string>();
    const pool = `auto-${parsed.labels.template}`;
    let groups = 0;
    for (const [k, g] of Object.entries(parsed.labels)) {
      if (k === 'expose' || k === 'template' || typeof g === 'string') continue;
      groups++;
      hosts.add(backendKey(pool, k));
      for (const r of g.frontend?.rules ?? []) if (r.hostEq) hosts.add(r.hostEq);
    }
    if (groups === 0) hosts.add(backendKey(pool, defaultGroup(app.id)));
    wants.set(app.id, hosts);
  }
  const claims = new Map<string, string>();
  for (const [host, appId] of previous) if (wants.get(appId)?.has(host)) claims.set(host, appId);
  for (const [appId, hosts] of wants) for (const h of hosts) if (!claims.has(h)) claims.set(h, appId);
  return claims;
}

/** Rule order: an exact host first (so no regex can come before the app that holds the host), then a host regex, then paths. */
function specificity(r: Rule): number {
  return (r.hostEq ? 4 : r.hostReg ? 2 : 0) + (r.pathBeg || r.pathEnd || r.pathReg ? 1 : 0) + (r.pathBeg ? r.pathBeg.length / 1000 : 0);
}

function rewrite(path: Record<string, string>): { fromPath: string; toPath: string } {
  const [fromPath, toPath] = Object.entries(path)[0] ?? ['/', '/'];
  return { fromPath, toPath };
}
