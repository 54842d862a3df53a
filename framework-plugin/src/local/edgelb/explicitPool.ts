import type { AppView } from '../../core/marathon/views.js';
import type { V2Pool, V2Service } from './schema/poolSchema.js';
import { servingTasks, stickyCookie, tasksAsServers } from './autopool.js';
import type { Pool, PoolBackend, PoolFrontend, PoolServer } from './pool.js';

/** Options of {@link explicitPool}. */
export interface ExplicitPoolOptions {
  /** Where a frontend asking for port 80 binds locally (the "public agent" port). */
  httpPort: number;
  /** Address frontends bind. Default `127.0.0.1`: the local cluster is loopback-only. */
  bindAddress?: string;
  /** Reported as the Mesos framework id of Marathon tasks. */
  frameworkId: string;
}

/** Mesos names a Marathon app's tasks after its id, reversed: `/group/app` → `app.group`. */
const mesosTaskName = (appId: string): string => appId.split('/').filter(Boolean).reverse().join('.');

const matches = (value: string, exact: string | undefined, pattern: string | undefined): boolean =>
  (exact === undefined || exact === value) && (pattern === undefined || new RegExp(pattern).test(value));

const withSlash = (id: string): string => (id.startsWith('/') ? id : `/${id}`);

/** The apps (and, for task-level selectors, tasks) a service selects. */
function selected(service: V2Service, apps: readonly AppView[], frameworkId: string): Array<{ app: AppView; tasks: AppView['tasks'] }> {
  const { marathon, mesos } = service;
  const out: Array<{ app: AppView; tasks: AppView['tasks'] }> = [];
  for (const app of apps) {
    if (marathon && (marathon.serviceID || marathon.serviceIDPattern)) {
      if (!matches(app.id, marathon.serviceID === undefined ? undefined : withSlash(marathon.serviceID), marathon.serviceIDPattern)) continue;
      out.push({ app, tasks: servingTasks(app) });
    } else if (mesos && Object.values(mesos).some(Boolean)) {
      if (!matches('marathon', mesos.frameworkName, mesos.frameworkNamePattern) || !matches(frameworkId, mesos.frameworkID, mesos.frameworkIDPattern)) continue;
      if (!matches(mesosTaskName(app.id), mesos.taskName, mesos.taskNamePattern)) continue;
      out.push({ app, tasks: (servingTasks(app) ?? []).filter((t) => matches(t.id, mesos.taskID, mesos.taskIDPattern)) });
    }
  }
  return out;
}

function servers(service: V2Service, apps: readonly AppView[], frameworkId: string): PoolServer[] {
  const e = service.endpoint ?? {};
  const extra: Partial<PoolServer> = { check: e.check?.enabled !== false, ...(e.miscStr ? { miscStr: e.miscStr } : {}) };
  if (e.type === 'ADDRESS') return [{ name: `address_${e.address}_${e.port}`, host: e.address!, port: e.port!, ...extra }];
  return selected(service, apps, frameworkId).flatMap(({ app, tasks }) => {
    const names = (app.portDefinitions ?? app.container?.portMappings ?? []).map((p) => p.name);
    if (e.port !== undefined && e.port > 0) return tasksAsServers(tasks, undefined, e.port, extra);
    if (e.allPorts) return names.flatMap((_, i) => tasksAsServers(tasks, i, undefined, extra).map((s) => ({ ...s, name: `${s.name}_${i}` })));
    const index = e.portName === undefined ? 0 : names.indexOf(e.portName);
    return index < 0 ? [] : tasksAsServers(tasks, index, undefined, extra);
  });
}

/**
 * An Edge-LB V2 pool (already validated) as the HAProxy renderer's model:
 * backends get a server per running, healthy task of the apps their
 * services select (`marathon.serviceID`/`serviceIDPattern`, or `mesos`
 * framework/task name/id selectors with Marathon's task naming), on the
 * endpoint's `portName`, `port` or `allPorts`; `ADDRESS` endpoints are
 * static servers. Frontends keep their map order, then `defaultBackend`.
 */
export function explicitPool(pool: V2Pool, apps: readonly AppView[], options: ExplicitPoolOptions): Pool {
  const { frameworkId } = options;
  const backends: PoolBackend[] = (pool.haproxy?.backends ?? []).map((b) => {
    const path = b.rewriteHttp?.path;
    const check = b.customCheck;
    return {
      name: b.name!,
      protocol: b.protocol === 'TCP' || b.protocol === 'TLS' ? 'TCP' : 'HTTP',
      balance: b.balance ?? 'roundrobin',
      servers: (b.services ?? []).flatMap((s) => servers(s, apps, frameworkId)),
      ...(path?.fromPath ? { rewritePath: { fromPath: path.fromPath, toPath: path.toPath ?? '/' } } : {}),
      ...(b.rewriteHttp?.sticky && b.rewriteHttp.sticky.enabled !== false ? { sticky: stickyCookie(b.rewriteHttp.sticky.customStr) } : {}),
      ...(b.rewriteHttp?.host ? { hostHeader: b.rewriteHttp.host } : {}),
      ...(check?.httpchk ? { httpchk: check.httpchkMiscStr ?? '' } : {}),
      ...(b.miscStrs?.length ? { miscStrs: b.miscStrs } : {}),
    };
  });
  const frontends: PoolFrontend[] = (pool.haproxy?.frontends ?? []).map((f) => {
    const bindAddress = options.bindAddress ?? '127.0.0.1';
    const bindPort = f.bindPort === 80 ? options.httpPort : f.bindPort!;
    return {
      name: f.name ?? `frontend_${f.bindAddress ?? '0.0.0.0'}_${f.bindPort}`,
      bindAddress,
      bindPort,
      protocol: f.protocol === 'TCP' || f.protocol === 'TLS' ? 'TCP' : 'HTTP',
      rules: (f.linkBackend?.map ?? []).map(({ backend, ...conditions }) => ({ ...conditions, backend })),
      ...(f.linkBackend?.defaultBackend ? { defaultBackend: f.linkBackend.defaultBackend } : {}),
      ...(f.bindModifier ? { bindModifier: f.bindModifier } : {}),
      ...(f.miscStrs?.length ? { miscStrs: f.miscStrs } : {}),
    };
  });
  return { name: pool.name, frontends, backends };
}

/** The local ports a pool's frontends bind (port 80 → the HTTP port). */
export function boundPorts(pool: V2Pool, httpPort: number): number[] {
  return (pool.haproxy?.frontends ?? []).map((f) => (f.bindPort === 80 ? httpPort : f.bindPort!));
}
