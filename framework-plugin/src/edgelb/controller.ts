import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { LocalCluster } from '../cluster/localCluster.js';
import { autoPools, type AutoPoolResult } from './autopool.js';
import { renderHaproxyConfig } from './haproxyConfig.js';
import { startHaproxy, type Haproxy } from './haproxyProcess.js';
import type { Pool } from './pool.js';

/** User options of {@link startEdgeLb}. */
export interface EdgeLbInit {
  cluster: LocalCluster;
  workDir: string;
  /** Where frontends asking for port 80 bind (the local "public agent"). */
  httpPort: number;
  statsPort: number;
  logger: Logger;
}

/** EdgeLB following the local cluster. */
export interface EdgeLb {
  /** Pools currently served and the apps left out for bad labels. */
  status(): { pools: Pool[]; errors: AutoPoolResult['errors']; haproxyPid: number | undefined; restarts: number; reloads: number };
  /** Re-renders now (normally driven by cluster events). */
  sync(): Promise<void>;
  stop(): Promise<void>;
}

const TRIGGERS = new Set(['status_update_event', 'health_status_changed_event', 'deployment_info', 'deployment_success', 'deployment_failed', 'api_post_event', 'unhealthy_task_kill_event']);

/** All pools in one HAProxy: backends are prefixed with their pool when there are several. */
function merge(pools: Pool[]): Pool {
  if (pools.length <= 1) return pools[0] ?? { name: 'none', frontends: [], backends: [] };
  const prefix = (pool: Pool, name: string): string => `${pool.name}__${name}`;
  return {
    name: pools.map((p) => p.name).join('+'),
    frontends: pools.flatMap((p) => p.frontends.map((f) => ({ ...f, name: `${p.name}__${f.name}`, rules: f.rules.map((r) => ({ ...r, backend: prefix(p, r.backend) })) }))),
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
  await mkdir(init.workDir, { recursive: true });
  const runtime = { statsSocket: join(init.workDir, 'stats.sock'), statsPort: init.statsPort };
  let last: AutoPoolResult = { pools: [], errors: [] };
  let lastConfig = '';
  let reloads = 0;
  const reported = new Map<string, string>();

  const compute = (): string => {
    last = autoPools(init.cluster.listApps(true), { httpPort: init.httpPort });
    for (const e of last.errors) {
      const text = JSON.stringify(e.errors);
      if (reported.get(e.appId) === text) continue;
      reported.set(e.appId, text);
      init.logger.warn({ component: 'edgelb', appId: e.appId, errors: e.errors }, 'app left out of EdgeLB: bad labels');
      init.cluster.events.publish('edgelb_label_error', { appId: e.appId, errors: e.errors });
    }
    for (const id of [...reported.keys()]) if (!last.errors.some((e) => e.appId === id)) reported.delete(id);
    const pool = merge(last.pools);
    // The HTTP port is always bound, as Edge-LB's default pool binds 80: with no
    // matching rule a request gets HAProxy's 503, and a busy port fails at start.
    const frontends = pool.frontends.some((f) => f.bindPort === init.httpPort)
      ? pool.frontends
      : [{ name: `frontend_127.0.0.1_${init.httpPort}`, bindAddress: '127.0.0.1', bindPort: init.httpPort, protocol: 'HTTP' as const, rules: [] }, ...pool.frontends];
    return renderHaproxyConfig({ ...pool, frontends }, runtime);
  };

  lastConfig = compute();
  const haproxy: Haproxy = await startHaproxy({ workDir: init.workDir, config: lastConfig, statsPort: init.statsPort, logger: init.logger });

  let running: Promise<void> | undefined;
  let again = false;
  const sync = async (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        const config = compute();
        if (config === lastConfig) continue;
        try {
          await haproxy.reload(config);
          lastConfig = config;
          reloads++;
        } catch (err) {
          init.logger.error({ component: 'edgelb', code: (err as { code?: string }).code, message: (err as Error).message }, 'config refused; keeping the last good one');
        }
      } while (again);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  let stopped = false;
  // A task being killed leaves its backend before it is signalled: render
  // without it and wait for the reload (a new worker serving); requests the
  // old worker still holds finish, as the app drains on SIGTERM.
  init.cluster.onBeforeKill(async () => {
    if (stopped) return;
    await sync();
  });
  const unsubscribe = init.cluster.events.subscribe((e) => {
    if (TRIGGERS.has(e.eventType)) void sync();
  });
  // Health results also change without events (first probe); a slow tick catches those.
  const tick = setInterval(() => void sync(), 1000);

  return {
    status: () => ({ pools: last.pools, errors: last.errors, haproxyPid: haproxy.pid(), restarts: haproxy.restarts(), reloads }),
    sync,
    async stop() {
      stopped = true;
      clearInterval(tick);
      unsubscribe();
      await running;
      await haproxy.stop();
    },
  };
}
