import { request, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '@secure-instance-profiles/framework-plugin/log';
import { freePort, waitFor } from '@secure-instance-profiles/framework-plugin/net';
import { autoPools, renderHaproxyConfig, startHaproxy, type Haproxy } from '@secure-instance-profiles/framework-plugin/local/edgelb';
import type { AppView } from '@secure-instance-profiles/framework-plugin';

// EdgeLB's data plane with the real HAProxy: pools from Auto Pool labels,
// rendered, checked, loaded, reloaded and supervised.

const logger = createLogger({ name: 'edgelb-test', level: 'error' });
const ctx = {} as { haproxy: Haproxy; httpPort: number; statsPort: number; servers: Server[]; ports: number[]; dir: string };

function namedServer(name: string): Promise<Server> {
  const s = createServer((req, res) => res.end(`${name} ${req.url}`));
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}

function app(id: string, labels: Record<string, string>, ports: number[], extra: Partial<AppView> = {}): AppView {
  return {
    id,
    labels,
    env: {},
    secrets: {},
    healthChecks: [],
    instances: ports.length,
    cpus: 0.1,
    mem: 32,
    disk: 0,
    backoffSeconds: 1,
    backoffFactor: 1.15,
    maxLaunchDelaySeconds: 300,
    portDefinitions: [{ port: 0, name: 'http' }],
    version: 'v1',
    tasksStaged: 0,
    tasksRunning: ports.length,
    tasksHealthy: 0,
    tasksUnhealthy: 0,
    deployments: [],
    tasks: ports.map((p, i) => ({
      id: `${id.slice(1)}.instance-${i}`,
      appId: id,
      host: '127.0.0.1',
      ports: [p],
      slaveId: 's',
      stagedAt: '',
      startedAt: '',
      version: 'v1',
      state: 'TASK_RUNNING',
      healthCheckResults: [],
    })),
    ...extra,
  } as AppView;
}

function get(path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: ctx.httpPort, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function config(apps: AppView[]): string {
  const { pools } = autoPools(apps, { httpPort: ctx.httpPort });
  const pool = pools[0] ?? { name: 'auto-default', frontends: [], backends: [] };
  return renderHaproxyConfig(pool, { statsSocket: join(ctx.dir, 'stats.sock'), statsPort: ctx.statsPort });
}

const demoLabels = { 'edgelb.expose': 'true', 'edgelb.template': 'default', 'edgelb.first.frontend.rules': 'hostEq:binapp.mesosphere.com' };
const pathLabels = { 'edgelb.expose': 'true', 'edgelb.api.frontend.rules': 'pathBeg:/api' };

const lb = suite('edgelb data plane');

lb.before(async () => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'sip-haproxy-'));
  ctx.httpPort = await freePort();
  ctx.statsPort = await freePort();
  ctx.servers = await Promise.all(['binapp-1', 'binapp-2', 'api-1'].map(namedServer));
  ctx.ports = ctx.servers.map((s) => (s.address() as AddressInfo).port);
  ctx.haproxy = await startHaproxy({
    workDir: ctx.dir,
    statsPort: ctx.statsPort,
    logger,
    config: config([app('/instance-profile-app', demoLabels, [ctx.ports[0] ?? 0]), app('/api', pathLabels, [ctx.ports[2] ?? 0])]),
  });
});

lb.after(async () => {
  await ctx.haproxy?.stop();
  ctx.servers?.forEach((s) => s.close());
});

lb('Host: binapp.mesosphere.com reaches binapp; any port suffix too; case does not matter', async () => {
  assert.equal(await get('/bin', 'binapp.mesosphere.com'), { status: 200, body: 'binapp-1 /bin' });
  assert.equal(await get('/x', `BINAPP.mesosphere.com:${ctx.httpPort}`), { status: 200, body: 'binapp-1 /x' });
});

lb('an unknown host gets 503 from HAProxy; pathBeg routes by path', async () => {
  assert.is((await get('/bin', 'unknown.example.com')).status, 503);
  assert.is((await get('/bin', 'binapp.mesosphere.com.evil.com')).status, 503);
  assert.equal(await get('/api/v1', 'anything.example.com'), { status: 200, body: 'api-1 /api/v1' });
});

lb('a reload picks up new servers without a restart', async () => {
  const pid = ctx.haproxy.pid();
  await ctx.haproxy.reload(config([app('/instance-profile-app', demoLabels, [ctx.ports[1] ?? 0]), app('/api', pathLabels, [ctx.ports[2] ?? 0])]));
  await waitFor(async () => (await get('/', 'binapp.mesosphere.com')).body.startsWith('binapp-2'), { what: 'new server in use', timeoutMs: 5000 });
  assert.is(ctx.haproxy.pid(), pid);
});

lb('an invalid label leaves traffic unharmed: the app is reported and left out', async () => {
  const apps = [
    app('/instance-profile-app', demoLabels, [ctx.ports[1] ?? 0]),
    app('/api', { ...pathLabels, 'edgelb.api.frontend.rules': 'pathBeg /api' }, [ctx.ports[2] ?? 0]),
  ];
  const { errors } = autoPools(apps, { httpPort: ctx.httpPort });
  assert.equal(
    errors.map((e) => e.appId),
    ['/api'],
  );
  assert.match(errors[0]?.errors[0]?.message ?? '', 'is not <key>:<value>');
  await ctx.haproxy.reload(config(apps));
  assert.is((await get('/bin', 'binapp.mesosphere.com')).status, 200);
});

lb('a config HAProxy rejects is refused and the running one keeps serving', async () => {
  const err = await ctx.haproxy.reload('global\n  this-is-not-a-keyword\n').catch((e: Error & { code?: string }) => e);
  assert.is((err as { code?: string }).code, 'SIP_HAPROXY_CONFIG_INVALID');
  assert.is((await get('/bin', 'binapp.mesosphere.com')).status, 200);
});

lb('HAProxy killed → back within seconds', async () => {
  const pid = ctx.haproxy.pid() ?? 0;
  process.kill(pid, 'SIGKILL');
  await waitFor(async () => ctx.haproxy.pid() !== pid && (await get('/bin', 'binapp.mesosphere.com')).status === 200, {
    what: 'haproxy back',
    timeoutMs: 10_000,
    intervalMs: 100,
  });
  assert.is(ctx.haproxy.restarts(), 1);
});

lb.run();
