import { mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLocalStore } from '@secure-instance-profiles/framework-plugin';
import { createLogger } from '@secure-instance-profiles/framework-plugin/log';
import { freePort, waitFor } from '@secure-instance-profiles/framework-plugin/net';
import { viaHost } from '../src/fixtures/http.js';
import { assertNoLeaks } from '../src/fixtures/leaks.js';
import { startStack, type Stack } from '../src/fixtures/stack.js';
import { startTestCluster, type TestCluster } from '../src/fixtures/testCluster.js';

// The hostile tenant. A victim (binapp with its AWS config secret, routed by
// Host) runs beside an app with no secrets that tries every read, label and
// request we know of; the victim's secret, the cluster's token and keys show
// up in nothing the hostile app can see, and the victim keeps its route the
// whole time.

const VICTIM = '/instance-profile-app';
const HOST = 'binapp.mesosphere.com';
const ctx = {} as { stack: Stack; tc: TestCluster; victimSandbox: string; lbFailures: string[]; polling: boolean; poller: Promise<void> };
const logger = createLogger({ name: 'isolation-test', level: 'error' });
const iso = suite('isolation: a hostile tenant');

const notChecked = (what: string): boolean => {
  if (ctx.tc.isolated) return false;
  process.stdout.write(`\n  NOT CHECKED (this machine cannot isolate tasks: not root, or the checkout is unreachable for other users): ${what}\n`);
  return true;
};

const hostileOutput = async (taskId: string): Promise<string> =>
  waitFor(
    async () => {
      const out = readFileSync(join(ctx.tc.stateDir, 'sandboxes', taskId, 'stdout'), 'utf8');
      return out.includes('== DONE') ? out : undefined;
    },
    { what: 'the hostile app to finish its attempts', timeoutMs: 30_000, intervalMs: 200 },
  );

iso.before(async () => {
  ctx.stack = await startStack();
  ctx.tc = await startTestCluster({ stack: ctx.stack, stateDir: mkdtempSync(join(tmpdir(), 'sip-isolation-')), logger });
  await createLocalStore({ dir: join(ctx.tc.stateDir, 'secrets') }).create(`${VICTIM}/aws-config`, ctx.stack.awsConfig);
  assert.is((await ctx.tc.call('POST', '/v2/apps', ctx.stack.marathonAppDefinition)).status, 201);
  const task = await ctx.tc.healthyTask(VICTIM, 60_000);
  ctx.victimSandbox = join(ctx.tc.stateDir, 'sandboxes', task.id);
  await waitFor(async () => (await viaHost(ctx.tc.lbPort, 'GET', '/ping', HOST)).status === 200, {
    what: 'the victim behind EdgeLB',
    timeoutMs: 20_000,
    intervalMs: 200,
  });
  // The victim must stay reachable through EdgeLB during every attack below.
  ctx.lbFailures = [];
  ctx.polling = true;
  ctx.poller = (async () => {
    while (ctx.polling) {
      const r = await viaHost(ctx.tc.lbPort, 'GET', '/ping', HOST).catch((e: Error) => ({ status: 0, body: e.message }));
      if (r.status !== 200) ctx.lbFailures.push(`${new Date().toISOString()} ${r.status}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  })();
});

iso.after(async () => {
  ctx.polling = false;
  await ctx.poller;
  await ctx.tc?.stop();
  await ctx.stack?.stop();
});

iso('reads: other sandboxes, the state dir, the token, keys, other tasks’ environments, the APIs without a token', async () => {
  const script = [
    'set +e',
    'echo "== own sandbox"; ls "$MESOS_SANDBOX" 2>&1',
    'echo "== list sandboxes"; ls -la "$MESOS_SANDBOX/.." 2>&1',
    'echo "== glob"; cat "$MESOS_SANDBOX"/../*/aws-config 2>&1',
    'echo "== victim"; cat "$VICTIM_SANDBOX/aws-config" 2>&1; ls -la "$VICTIM_SANDBOX" 2>&1; cat "$VICTIM_SANDBOX/stdout" 2>&1 | head -5',
    'echo "== state"; ls -la "$STATE" 2>&1',
    'for f in acs-token aws-admin.json cluster.json cluster.log secrets/store.key marathon/apps.json edgelb/haproxy.cfg; do echo "== $f"; cat "$STATE/$f" 2>&1 | head -c 4000; echo; done',
    'echo "== environ"; for p in /proc/[0-9]*; do tr "\\000" "\\n" < "$p/environ" 2>/dev/null | grep -E "AWS_CONFIG|SECRET|TOKEN|external_id" ; done',
    'echo "== apis"',
    "node -e \"fetch(process.env.MARATHON + '/v2/apps').then(async (r) => console.log('marathon', r.status, (await r.text()).slice(0, 300)))\"",
    "node -e \"fetch(process.env.AWS_ENDPOINT_URL + '/moto-api/data.json').then(async (r) => console.log('moto-admin', r.status, (await r.text()).slice(0, 300)))\"",
    "node -e \"fetch(process.env.AWS_ENDPOINT_URL + '/moto-api/reset-auth', { method: 'POST', body: '0', headers: { 'content-type': 'text/plain' } }).then((r) => console.log('moto-reset', r.status))\"",
    'echo "== DONE"; exec sleep 3600',
  ].join('\n');
  const hostile = { id: '/hostile/reader', cmd: script, env: { MARATHON: ctx.tc.api.url, VICTIM_SANDBOX: ctx.victimSandbox, STATE: ctx.tc.stateDir } };
  assert.is((await ctx.tc.call('POST', '/v2/apps', hostile)).status, 201);
  const task = await waitFor(async () => (await ctx.tc.app('/hostile/reader'))?.tasks?.[0], { what: 'the hostile task', timeoutMs: 20_000, intervalMs: 200 });
  const out = await hostileOutput(task.id);

  // The APIs hold regardless of isolation.
  assert.match(out, /^marathon 401/m, 'the Marathon API answered without a token');
  assert.match(out, /^moto-admin 403/m, 'the emulator admin API answered a task');
  assert.match(out, /^moto-reset 403/m);
  const token = ctx.tc.token;
  const storeKey = readFileSync(join(ctx.tc.stateDir, 'secrets', 'store.key'));
  if (notChecked('another task’s sandbox, the state dir and other tasks’ environments are unreadable')) return;
  assert.match(out, /== victim\n[^=]*Permission denied/, 'the victim sandbox was not refused');
  assert.match(out, /== secrets\/store.key\n[^=]*Permission denied/, 'the store key was not refused');
  assert.match(out, /== marathon\/apps.json\n[^=]*Permission denied/);
  assert.match(out, /== environ\n== apis/, 'another task’s environment was readable');
  assert.match(out, /== list sandboxes\n[^=]*Permission denied/, 'the sandbox root could be listed');
  assertNoLeaks(
    { 'the hostile task’s output': out },
    [
      { kind: 'external id', value: ctx.stack.externalId },
      { kind: 'ACS token', value: token },
      { kind: 'store key', value: storeKey.toString('base64') },
      { kind: 'store key (hex)', value: storeKey.toString('hex') },
      { kind: 'admin secret key', value: ctx.stack.emulator.admin.credentials.secretAccessKey },
    ],
    { awsShapes: true },
  );
  await ctx.tc.call('DELETE', '/v2/apps/hostile/reader');
});

iso('labels: prototype pollution, a newline in a value and another app’s host change nothing for the victim', async () => {
  const trap = await freePort();
  const attacker = await freePort();
  const hostile = {
    id: '/hostile/labels',
    cmd: 'exec python3 -m http.server $PORT0 --bind 127.0.0.1',
    portDefinitions: [{ port: 0 }],
    labels: {
      'edgelb.expose': 'true',
      'edgelb.__proto__.backend.endpoint': `type:ADDRESS|address:127.0.0.1|port:${attacker}`,
      'edgelb.nl.backend.balance': `roundrobin\n  frontend evil\n  bind 127.0.0.1:${trap}\n  mode http`,
      'edgelb.hj.frontend.rules': `hostEq:${HOST}`,
    },
  };
  assert.is((await ctx.tc.call('POST', '/v2/apps', hostile)).status, 201);
  await waitFor(async () => (await ctx.tc.app('/hostile/labels'))?.tasksRunning === 1, { what: 'the hostile app running', timeoutMs: 20_000, intervalMs: 200 });
  await ctx.tc.edgelb.sync();
  assert.is(({} as Record<string, unknown>).backend, undefined, 'Object.prototype was polluted');
  const listening = await new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port: trap }, () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
  assert.not.ok(listening, 'an injected frontend is listening');
  const cfg = ctx.tc.edgelb.lbConfig('auto-default') ?? '';
  assert.not.match(cfg, 'evil');
  assert.not.match(cfg, String(attacker));
  const ping = await viaHost(ctx.tc.lbPort, 'GET', '/ping', HOST);
  assert.is(ping.status, 200, 'the victim’s host still reaches the victim');
  const reported = ctx.tc.edgelb.status().errors.find((e) => e.appId === '/hostile/labels');
  assert.ok(reported, 'the hostile app is reported');
  await ctx.tc.call('DELETE', '/v2/apps/hostile/labels');
});

iso('an app whose part HAProxy refuses is left out with the reason; apps deployed afterwards are still routed', async () => {
  // A regular expression JavaScript accepts and HAProxy's PCRE refuses (\k without a name).
  const bad = {
    id: '/hostile/pcre',
    cmd: 'exec python3 -m http.server $PORT0 --bind 127.0.0.1',
    portDefinitions: [{ port: 0 }],
    labels: { 'edgelb.expose': 'true', 'edgelb.p.frontend.rules': 'hostEq:pcre.example.com|pathReg:^/a\\k' },
  };
  assert.is((await ctx.tc.call('POST', '/v2/apps', bad)).status, 201);
  await waitFor(async () => ctx.tc.edgelb.status().errors.some((e) => e.appId === '/hostile/pcre'), {
    what: 'the app reported',
    timeoutMs: 20_000,
    intervalMs: 200,
  });
  const reason = ctx.tc.edgelb.status().errors.find((e) => e.appId === '/hostile/pcre')?.errors[0]?.message ?? '';
  assert.match(reason, 'HAProxy refuses this app');
  const late = {
    id: '/late/app',
    cmd: 'exec python3 -m http.server $PORT0 --bind 127.0.0.1',
    portDefinitions: [{ port: 0 }],
    labels: { 'edgelb.expose': 'true', 'edgelb.l.frontend.rules': 'hostEq:late.example.com' },
  };
  assert.is((await ctx.tc.call('POST', '/v2/apps', late)).status, 201);
  await waitFor(async () => (await viaHost(ctx.tc.lbPort, 'GET', '/', 'late.example.com')).status === 200, {
    what: 'the app deployed afterwards routed',
    timeoutMs: 30_000,
    intervalMs: 300,
  });
  assert.is((await viaHost(ctx.tc.lbPort, 'GET', '/ping', HOST)).status, 200);
  await ctx.tc.call('DELETE', '/v2/apps/hostile/pcre');
  await ctx.tc.call('DELETE', '/v2/apps/late/app');
});

iso('a malformed AWS config (a missing newline) is refused without its value in any answer, event or output', async () => {
  const MARK = `Marker-External-Id-${Date.now()}`;
  const config = `[default]\nregion = us-east-1\nrole_arn = arn:aws:iam::123456789012:role/sip-apps/app external_id = ${MARK}\ncredential_source = Ec2InstanceMetadata\n`;
  await createLocalStore({ dir: join(ctx.tc.stateDir, 'secrets') }).create('leaky/aws-config', config);
  const app = {
    id: '/leaky/app',
    cmd: 'exec sleep 30',
    secrets: { aws: { source: 'leaky/aws-config' } },
    container: { type: 'MESOS', volumes: [{ containerPath: 'aws-config', secret: 'aws' }] },
  };
  const posted = await ctx.tc.call('POST', '/v2/apps', app);
  assert.is(posted.status, 201);
  const failed = await ctx.tc.events.waitFor((e) => e.eventType === 'deployment_failed' && JSON.stringify(e).includes('/leaky/app'), 15_000, 'the refusal');
  assert.match(String(failed.reason), 'role_arn (line 3): is not an IAM role ARN');
  const views = [
    JSON.stringify(posted.json),
    JSON.stringify((await ctx.tc.call('GET', '/v2/apps/leaky/app')).json),
    JSON.stringify((await ctx.tc.call('GET', '/v2/apps?embed=apps.tasks')).json),
  ];
  assertNoLeaks({ 'the API answers': views.join('\n'), 'the event stream': ctx.tc.events.raw() }, [{ kind: 'external id', value: MARK }]);
  await ctx.tc.call('DELETE', '/v2/apps/leaky/app');
});

iso('the victim was reachable through EdgeLB the whole time, and its secret is still its alone', async () => {
  assert.equal(ctx.lbFailures, [], 'requests to the victim that failed during the attacks');
  if (notChecked('the victim’s secret file belongs to its own user')) return;
  const victimApp = await ctx.tc.app(VICTIM);
  const { statSync } = await import('node:fs');
  const st = statSync(join(ctx.victimSandbox, 'aws-config'));
  assert.is(st.mode & 0o777, 0o400);
  assert.ok(st.uid >= 2_000_000, `owned by uid ${st.uid}, not an app user`);
  assert.is(statSync(ctx.victimSandbox).mode & 0o777, 0o700);
  assert.is(victimApp.tasksHealthy, 1);
});

iso.run();
