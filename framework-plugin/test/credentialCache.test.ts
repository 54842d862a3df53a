import { inspect } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AssumeRoleFailure, createCredentialCache, type AssumeRequest, type RoleCredentials } from '../src/core/agent/credentialCache.js';
import { decideByPolicy } from '../src/core/agent/policy.js';
import { roleSessionName, tagValue } from '../src/core/agent/sessionName.js';
import { assumeRoleOf } from '../src/core/awsconfig/assumeRoleOf.js';

const HOUR = 3_600_000;
const request = (over: Partial<AssumeRequest> = {}): AssumeRequest => ({
  roleArn: 'arn:aws:iam::123456789012:role/sip-apps/web',
  externalId: 'ext-1',
  sessionName: 'web@1234abcd',
  sourceIdentity: '/web',
  tags: { 'marathon-app': '/web' },
  taskId: 'web.instance-1234abcd-0000._app.1',
  ...over,
});

/** A fake STS on a fake clock: counts calls, answers as told. */
function harness() {
  let now = 1_000_000;
  let mode: 'ok' | 'denied' | 'down' = 'ok';
  let calls = 0;
  const pending: Array<() => void> = [];
  let hold = false;
  const cache = createCredentialCache({
    now: () => now,
    random: () => 0.5,
    sleep: async (ms) => {
      now += ms;
    },
    assume: async (r) => {
      calls++;
      if (hold) await new Promise<void>((res) => pending.push(res));
      if (mode === 'denied') throw new AssumeRoleFailure({ kind: 'denied', message: 'AccessDenied: not authorized' });
      if (mode === 'down') throw new AssumeRoleFailure({ kind: 'unavailable', message: 'ECONNREFUSED' });
      const c: RoleCredentials = {
        accessKeyId: `AKIA${calls}`,
        secretAccessKey: 's',
        sessionToken: `t-${r.sessionName}-${calls}`,
        expiration: new Date(now + HOUR),
      };
      return c;
    },
  });
  return {
    cache,
    advance: (ms: number) => (now += ms),
    set: (m: typeof mode) => (mode = m),
    calls: () => calls,
    hold: (h: boolean) => {
      hold = h;
      if (!h) pending.splice(0).forEach((r) => r());
    },
  };
}

test('cached until the refresh window, then refreshed in the background while the old ones are served', async () => {
  const h = harness();
  const first = await h.cache.get(request());
  assert.is(first.cached, false);
  assert.is((await h.cache.get(request())).cached, true);
  assert.is(h.calls(), 1);
  h.advance(HOUR - 5 * 60_000); // inside the refresh window (5 min + jitter before expiry)
  const during = await h.cache.get(request());
  assert.is(during.credentials.accessKeyId, first.credentials.accessKeyId, 'the old ones while refreshing');
  await new Promise((r) => setImmediate(r));
  assert.is(h.calls(), 2);
  assert.is((await h.cache.get(request())).credentials.accessKeyId, 'AKIA2');
});

test('one call in flight per key; different external ids or sessions never share', async () => {
  const h = harness();
  h.hold(true);
  const all = Promise.all([h.cache.get(request()), h.cache.get(request()), h.cache.get(request())]);
  await new Promise((r) => setImmediate(r));
  h.hold(false);
  const answers = await all;
  assert.is(h.calls(), 1);
  assert.ok(answers.every((a) => a.credentials.accessKeyId === 'AKIA1'));
  await h.cache.get(request({ externalId: 'ext-2' }));
  await h.cache.get(request({ sessionName: 'web@ffffffff', taskId: 'other' }));
  assert.is(h.calls(), 3);
});

test('a denial is remembered with doubling backoff: a loop of requests is not an STS storm', async () => {
  const h = harness();
  h.set('denied');
  for (let i = 0; i < 50; i++) {
    const err = await h.cache.get(request()).catch((e: { code: string; message: string }) => e);
    assert.is((err as { code: string }).code, 'SIP_AGENT_DENIED');
  }
  assert.is(h.calls(), 1);
  h.advance(5_001);
  await h.cache.get(request()).catch(() => undefined);
  assert.is(h.calls(), 2);
  h.advance(5_001); // the second denial is remembered 10 s
  await h.cache.get(request()).catch(() => undefined);
  assert.is(h.calls(), 2);
  h.set('ok');
  h.advance(5_000);
  assert.is((await h.cache.get(request())).cached, false);
});

test('STS down: cached credentials until they expire, then SIP_AGENT_STS_UNAVAILABLE', async () => {
  const h = harness();
  const first = await h.cache.get(request());
  h.set('down');
  h.advance(HOUR - 60_000);
  assert.is((await h.cache.get(request())).credentials.accessKeyId, first.credentials.accessKeyId);
  await new Promise((r) => setImmediate(r));
  assert.is((await h.cache.get(request())).credentials.accessKeyId, first.credentials.accessKeyId, 'still served after the failed refresh');
  h.advance(60_001);
  const err = await h.cache.get(request()).catch((e: { code: string; message: string }) => e);
  assert.is((err as { code: string }).code, 'SIP_AGENT_STS_UNAVAILABLE');
  assert.not.match((err as { message: string }).message, 't-web', 'no credential in the reason');
});

test('a task that ends loses its credentials; the cap on STS calls per second queues the rest', async () => {
  const h = harness();
  await h.cache.get(request());
  h.cache.forgetTask(request().taskId);
  assert.is(h.cache.stats().entries, 0);
  assert.is((await h.cache.get(request())).cached, false);
  const before = h.calls();
  await Promise.all(Array.from({ length: 25 }, (_, i) => h.cache.get(request({ sessionName: `s${i}`, taskId: `t${i}` }))));
  assert.is(h.calls() - before, 25, 'all served, in turns of 10 per second');
});

test('session names: app and instance, STS alphabet, at most 64, distinct when cut', () => {
  assert.is(roleSessionName('/instance-profile-app', 'instance-profile-app.instance-3f2a9c1e-aaaa-bbbb._app.1'), 'instance-profile-app@3f2a9c1e');
  assert.is(roleSessionName('/team/web', 'team_web.instance-0123abcd-x._app.1'), 'team.web@0123abcd');
  const long = `/${'a'.repeat(60)}/${'b'.repeat(60)}`;
  const a = roleSessionName(long, 'x.instance-11111111-y');
  const b = roleSessionName(`${long}c`, 'x.instance-11111111-y');
  assert.ok(a.length <= 64 && b.length <= 64);
  assert.is.not(a, b);
  assert.match(a, /^[\w+=,.@-]+$/);
  assert.is(tagValue('/team/web'), '/team/web');
  assert.is(tagValue('a;b<c>'), 'a-b-c-');
});

test('policy: most specific group wins, path semantics, deny by default', () => {
  const policy = {
    rules: [
      { group: '/team', roleArn: 'arn:aws:iam::1:role/team', externalId: 'x' },
      { group: '/team/payments', roleArn: 'arn:aws:iam::1:role/pay', externalId: 'y' },
    ],
  };
  const roleOf = (id: string): string => {
    const d = decideByPolicy(policy, id);
    return d.allow ? d.rule.roleArn : `deny: ${d.reason}`;
  };
  assert.is(roleOf('/team/web'), 'arn:aws:iam::1:role/team');
  assert.is(roleOf('/team/payments/api'), 'arn:aws:iam::1:role/pay');
  assert.match(roleOf('/teamster/web'), 'deny');
  assert.match(roleOf('/other'), 'deny by default');
});

test('assumeRoleOf reads role and external id with the SDK loader and never prints the id', async () => {
  const r = assumeRoleOf(
    '[default]\nrole_arn = arn:aws:iam::123456789012:role/sip-apps/x\nexternal_id = s3cr3t-ext-id\ncredential_source = Ec2InstanceMetadata\n',
  );
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.config.externalId, 's3cr3t-ext-id');
  assert.not.match(JSON.stringify(r.config), 's3cr3t');
  assert.not.match(inspect(r.config), 's3cr3t');
  const bad = assumeRoleOf('[default]\nrole_arn = nope\n');
  assert.not.ok(bad.ok);
});

test.run();
