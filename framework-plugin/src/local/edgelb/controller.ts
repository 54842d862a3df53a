import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { EventBus } from '../../core/marathon/events.js';
import type { AppView, TaskView } from '../../core/marathon/views.js';
import { isSipError, SipError } from '../../core/errors/SipError.js';
import type { PoolStatus, V2Pool } from '../../clients/edgelb/types.js';
import { autoPools, type AutoPoolResult } from './autopool.js';
import { explicitPool } from './explicitPool.js';
import { renderHaproxyConfig } from './haproxyConfig.js';
import { busyNewBind } from '../../net/canBind.js';
import { checkHaproxyConfig, haproxyCommand, startHaproxy, type Haproxy } from './haproxyProcess.js';
import type { Pool, PoolFrontend } from './pool.js';
import { openPoolRegistry, type PoolRegistry } from './poolRegistry.js';

/**
 * What EdgeLB needs from a scheduler: the apps with their tasks, the event
 * stream that says when they change (and takes EdgeLB's own events), and a
 * say before a task is killed, so it can be drained first.
 */
export interface AppSource {
  /** The framework id of the scheduler's tasks (what `mesos.frameworkID` selectors match). */
  readonly frameworkId: string;
  listApps(withTasks: true): AppView[];
  readonly events: Pick<EventBus, 'publish' | 'subscribe'>;
  onBeforeKill(hook: (task: TaskView) => Promise<void>): void;
}

/** User options of {@link startEdgeLb}. */
export interface EdgeLbInit {
  /** The apps to route to (the local scheduler). */
  source: AppSource;
  workDir: string;
  /** Where frontends asking for port 80 bind (the local "public agent"). */
  httpPort: number;
  statsPort: number;
  logger: Logger;
}

/** EdgeLB following the local cluster. */
export interface EdgeLb {
  /** Pools currently served and the apps left out for bad labels. */
  status(): {
    pools: Pool[];
    errors: AutoPoolResult['errors'];
    haproxyPid: number | undefined;
    restarts: number;
    reloads: number;
    /** Why the last config change was not served (HAProxy refused it or its reload failed); absent once one is. */
    lastFailure?: { at: string; message: string };
  };
  /**
   * The Pool API's pools. A create/update/delete is served before it
   * returns; if HAProxy refuses the resulting config the change is undone
   * and the error (`SIP_HAPROXY_CONFIG_INVALID`) thrown.
   */
  readonly pools: PoolRegistry;
  /** A pool's frontends and its servers' state as HAProxy reports it (`show stat`). */
  poolStatus(name: string): Promise<PoolStatus | undefined>;
  /** The Auto Pools the apps' labels currently make (read-only; listed beside the Pool API's). */
  autoPools(): Pool[];
  /** The HAProxy config a pool renders to, alone (Edge-LB's `lbconfig`). */
  lbConfig(name: string): string | undefined;
  /** Re-renders now (normally driven by cluster events). */
  sync(): Promise<void>;
  stop(): Promise<void>;
}

const TRIGGERS = new Set([
  'status_update_event',
  'health_status_changed_event',
  'deployment_info',
  'deployment_success',
  'deployment_failed',
  'api_post_event',
  'unhealthy_task_kill_event',
]);

/**
 * All pools in one HAProxy: backends are prefixed with their pool when there
 * are several, and frontends binding the same port become one (one local
 * "public agent"): the pools' rules in pool order, then the first default.
 */
function merge(pools: Pool[]): Pool {
  if (pools.length <= 1) return pools[0] ?? { name: 'none', frontends: [], backends: [] };
  const prefix = (pool: Pool, name: string): string => `${pool.name}__${name}`;
  const byPort = new Map<number, PoolFrontend>();
  for (const p of pools) {
    for (const f of p.frontends) {
      const rules = f.rules.map((r) => ({ ...r, backend: prefix(p, r.backend) }));
      const defaultBackend = f.defaultBackend ? prefix(p, f.defaultBackend) : undefined;
      const seen = byPort.get(f.bindPort);
      byPort.set(
        f.bindPort,
        seen
          ? {
              ...seen,
              rules: [...seen.rules, ...rules],
              ...(seen.defaultBackend || !defaultBackend ? {} : { defaultBackend }),
              miscStrs: [...(seen.miscStrs ?? []), ...(f.miscStrs ?? [])],
            }
          : { ...f, name: `${p.name}__${f.name}`, rules, ...(defaultBackend ? { defaultBackend } : {}) },
      );
    }
  }
  return {
    name: pools.map((p) => p.name).join('+'),
    frontends: [...byPort.values()],
    backends: pools.flatMap((p) => p.backends.map((b) => ({ ...b, name: prefix(p, b.name) }))),
  };
}

/**
 * EdgeLB for the local cluster: Auto Pools from the apps' labels, rendered
 * into one HAProxy, re-rendered on every task and health event (a task that
 * is killed, unhealthy or gone leaves its backend; a new healthy one joins),
 * reloaded seamlessly only when the config changed. Apps with bad labels are
 * reported (log and an `edgelb_label_error` event) and left out; everything
 * else keeps serving.
 */
export async function startEdgeLb(init: EdgeLbInit): Promise<EdgeLb> {
  await mkdir(init.workDir, { recursive: true, mode: 0o700 });
  const runtime = { statsSocket: join(init.workDir, 'stats.sock'), statsPort: init.statsPort };
  const registry = await openPoolRegistry({ dir: join(init.workDir, 'pools'), httpPort: init.httpPort, reservedPorts: [init.statsPort] });
  let last: AutoPoolResult = { pools: [], errors: [], claims: new Map() };
  let served: Pool[] = [];
  let lastConfig = '';
  let reloads = 0;
  const reported = new Map<string, string>();
  let claims: ReadonlyMap<string, string> = new Map();
  let lastFailure: { at: string; message: string } | undefined;
  /** Apps whose own part HAProxy refused, at the version refused: left out until they change. */
  const excluded = new Map<string, { version: string; reason: string }>();

  const compute = (): string => {
    const all = init.source.listApps(true);
    for (const [id, x] of excluded) if (!all.some((a) => a.id === id && a.version === x.version)) excluded.delete(id);
    const apps = all.filter((a) => !excluded.has(a.id));
    const auto = autoPools(apps, { httpPort: init.httpPort, claims });
    claims = auto.claims;
    last = { ...auto, errors: [...auto.errors, ...[...excluded].map(([appId, x]) => ({ appId, errors: [{ label: 'edgelb', message: x.reason }] }))] };
    for (const e of last.errors) {
      const text = JSON.stringify(e.errors);
      if (reported.get(e.appId) === text) continue;
      reported.set(e.appId, text);
      init.logger.warn({ component: 'edgelb', appId: e.appId, errors: e.errors }, 'app left out of EdgeLB: bad labels');
      init.source.events.publish('edgelb_label_error', { appId: e.appId, errors: e.errors });
    }
    for (const id of [...reported.keys()]) if (!last.errors.some((e) => e.appId === id)) reported.delete(id);
    // API pools first: their explicit rules win over the catch-all `pathBeg:/` of Auto Pools.
    served = [...registry.list().map((p) => explicitPool(p, apps, { httpPort: init.httpPort, frameworkId: init.source.frameworkId })), ...last.pools];
    const pool = merge(served);
    // The HTTP port is always bound, as Edge-LB's default pool binds 80: with no
    // matching rule a request gets HAProxy's 503, and a busy port fails at start.
    const frontends = pool.frontends.some((f) => f.bindPort === init.httpPort)
      ? pool.frontends
      : [
          { name: `frontend_127.0.0.1_${init.httpPort}`, bindAddress: '127.0.0.1', bindPort: init.httpPort, protocol: 'HTTP' as const, rules: [] },
          ...pool.frontends,
        ];
    return renderHaproxyConfig({ ...pool, frontends }, runtime);
  };

  lastConfig = compute();
  const haproxy: Haproxy = await startHaproxy({ workDir: init.workDir, config: lastConfig, statsPort: init.statsPort, logger: init.logger });

  /** Swaps `config` in unless it is what HAProxy already runs. @throws when HAProxy refuses it */
  const serve = async (config: string): Promise<void> => {
    if (config === lastConfig) return;
    await haproxy.reload(config);
    lastConfig = config;
    reloads++;
  };

  // One config change at a time: event-driven syncs and Pool API changes.
  let chain: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn);
    chain = p.catch(() => undefined);
    return p;
  };
  let running: Promise<void> | undefined;
  let again = false;
  const sync = async (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = exclusive(async () => {
      do {
        again = false;
        try {
          await serve(compute());
        } catch (err) {
          // One app's part must not freeze the load balancer for all: find the apps
          // HAProxy refuses on their own, leave them out (reported), serve the rest.
          if ((isSipError(err, 'SIP_HAPROXY_CONFIG_INVALID') || isSipError(err, 'SIP_PORT_IN_USE')) && (await excludeRefusedApps()) > 0) {
            try {
              await serve(compute());
              lastFailure = undefined;
              continue;
            } catch (retryErr) {
              err = retryErr;
            }
          }
          init.logger.error(
            { component: 'edgelb', code: (err as { code?: string }).code, message: (err as Error).message },
            'config refused; keeping the last good one',
          );
          lastFailure = { at: new Date().toISOString(), message: (err as Error).message };
          continue;
        }
        lastFailure = undefined;
      } while (again);
    }).finally(() => {
      running = undefined;
    });
    return running;
  };

  /**
   * Checks each exposed app's own part with `haproxy -c`, and that the ports
   * it would newly bind are free; leaves out those refused.
   * @returns how many were left out
   */
  const excludeRefusedApps = async (): Promise<number> => {
    let found = 0;
    for (const app of init.source.listApps(true)) {
      if (excluded.has(app.id) || app.labels['edgelb.expose'] !== 'true') continue;
      const alone = autoPools([app], { httpPort: init.httpPort });
      if (alone.pools.length === 0) continue;
      const file = join(init.workDir, `check-${process.pid}.cfg`);
      try {
        const own = renderHaproxyConfig(merge(alone.pools), runtime);
        const busy = await busyNewBind(own, lastConfig);
        if (busy) throw new SipError('SIP_PORT_IN_USE', `port ${busy} is in use by another process`);
        await writeFile(file, own, { mode: 0o600 });
        await checkHaproxyConfig(file);
      } catch (err) {
        const reason = isSipError(err, 'SIP_PORT_IN_USE')
          ? `this app's frontend cannot bind: ${(err as Error).message}`
          : `HAProxy refuses this app's part of the config: ${(err as Error).message}`;
        excluded.set(app.id, { version: app.version, reason });
        init.logger.warn({ component: 'edgelb', appId: app.id }, 'app left out of EdgeLB: HAProxy refuses its part');
        init.source.events.publish('edgelb_label_error', { appId: app.id, errors: [{ label: 'edgelb', message: reason }] });
        found++;
      } finally {
        await rm(file, { force: true });
      }
    }
    return found;
  };

  let stopped = false;
  // A task being killed leaves its backend before it is signalled: render
  // without it and wait for the reload (a new worker serving); requests the
  // old worker still holds finish, as the app drains on SIGTERM.
  init.source.onBeforeKill(async () => {
    if (stopped) return;
    await sync();
  });
  const unsubscribe = init.source.events.subscribe((e) => {
    if (TRIGGERS.has(e.eventType)) void sync();
  });
  // Health results also change without events (first probe); a slow tick catches those.
  const tick = setInterval(() => void sync(), 1000);

  /** Applies a registry change and serves it now; undoes it if HAProxy refuses the result. */
  const change = <T>(name: string, op: () => Promise<T>): Promise<T> =>
    exclusive(async () => {
      const before = registry.get(name);
      const result = await op();
      try {
        await serve(compute());
      } catch (err) {
        await restore(name, before);
        compute();
        throw err instanceof SipError ? new SipError(err.code, `pool "${name}" not applied, HAProxy refused it: ${err.message}`, { expose: true }) : err;
      }
      return result;
    });
  const restore = async (name: string, before: V2Pool | undefined): Promise<void> => {
    if (before && registry.get(name)) await registry.update(name, before);
    else if (before) await registry.create(before);
    else if (registry.get(name)) await registry.delete(name);
  };

  const pools: PoolRegistry = {
    list: () => registry.list(),
    get: (name) => registry.get(name),
    create: (doc) => change(String((doc as { name?: unknown })?.name ?? ''), () => registry.create(doc)),
    update: (name, doc) => change(name, () => registry.update(name, doc)),
    delete: (name) => change(name, () => registry.delete(name)),
  };

  // Reads what is served now (kept current by events and the tick), without re-rendering.
  const servedPool = (name: string): { pool: Pool; source: 'auto' | 'api' } | undefined => {
    const pool = served.find((p) => p.name === name);
    return pool && { pool, source: registry.get(name) ? 'api' : 'auto' };
  };

  return {
    status: () => ({
      pools: served,
      errors: last.errors,
      haproxyPid: haproxy.pid(),
      restarts: haproxy.restarts(),
      reloads,
      ...(lastFailure ? { lastFailure } : {}),
    }),
    pools,
    autoPools: () => [...last.pools],
    lbConfig(name) {
      const found = servedPool(name);
      return found && renderHaproxyConfig(found.pool, runtime);
    },
    async poolStatus(name) {
      const found = servedPool(name);
      if (!found) return undefined;
      const prefix = served.length > 1 ? `${name}__` : '';
      // `show stat` CSV: pxname,svname,…,status (column 18).
      const stat = await haproxyCommand(runtime.statsSocket, 'show stat').catch(() => '');
      const state = new Map(
        stat
          .split('\n')
          .filter((l) => l && !l.startsWith('#'))
          .map((l) => l.split(','))
          .map((c) => [`${c[0]}/${c[1]}`, c[17] ?? ''] as const),
      );
      const safe = (s: string): string => s.replace(/[^A-Za-z0-9_.:-]/g, '_');
      return {
        name,
        source: found.source,
        frontends: found.pool.frontends.map((f) => ({ name: f.name, bind: `${f.bindAddress}:${f.bindPort}`, protocol: f.protocol })),
        backends: found.pool.backends.map((b) => ({
          name: b.name,
          servers: b.servers.map((s) => ({
            name: s.name,
            address: `${s.host}:${s.port}`,
            status: state.get(`${safe(prefix + b.name)}/${safe(s.name)}`) || 'NOT SERVED YET',
          })),
        })),
      };
    },
    sync,
    async stop() {
      stopped = true;
      clearInterval(tick);
      unsubscribe();
      await chain;
      await haproxy.stop();
    },
  };
}
