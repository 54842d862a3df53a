import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AssumeRequest } from '../src/core/agent/credentialCache.js';
import { roleSessionName, sessionAppId } from '../src/core/agent/sessionName.js';
import { createStsAssumer } from '../src/delivery/endpoint/stsAssumer.js';

// How sip agent talks to STS (issue #22): only a refusal that names the tags
// or source identity drops them, and not for good; the agent's own expired
// session never reads as the role's refusal; a task is told the catalogue's
// reason, never STS's words (they name the agent's role, account, instance).

const request: AssumeRequest = {
  roleArn: 'arn:aws:iam::123456789012:role/sip-apps/web',
  externalId: 'ext-1',
  sessionName: 'web@1234abcd',
  sourceIdentity: 'web',
  tags: { 'marathon-app': '/web' },
  taskId: 'web.instance-1234abcd-0000._app.1',
};
const AGENT = 'arn:aws:sts::123456789012:assumed-role/sip-agent/i-0abc123';
const stsError = (name: string, message: string) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 403 } });
const ok = { Credentials: { AccessKeyId: 'AKIA1', SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(Date.now() + 3_600_000) } };

function fakeSts(answer: (input: { Tags?: unknown; SourceIdentity?: unknown; DurationSeconds?: number }) => unknown) {
  const inputs: Array<{ Tags?: unknown; SourceIdentity?: unknown; DurationSeconds?: number }> = [];
  return {
    inputs,
    client: {
      send: async (cmd: { input: { Tags?: unknown; SourceIdentity?: unknown; DurationSeconds?: number } }) => {
        inputs.push(cmd.input);
        const a = answer(cmd.input);
        if (a instanceof Error) throw a;
        return a;
      },
    } as never,
  };
}

test('a refusal naming sts:TagSession is retried without tags, for ten minutes, then tags are tried again', async () => {
  let now = 1_000_000;
  const sts = fakeSts((i) =>
    i.Tags ? stsError('AccessDenied', `User: ${AGENT} is not authorized to perform: sts:TagSession on resource: ${request.roleArn}`) : ok,
  );
  const assume = createStsAssumer({ client: sts.client, now: () => now });
  await assume(request);
  assert.equal(
    sts.inputs.map((i) => Boolean(i.Tags)),
    [true, false],
  );
  await assume(request);
  assert.equal(
    sts.inputs.map((i) => Boolean(i.Tags)),
    [true, false, false],
    'remembered: no tags for a while',
  );
  now += 10 * 60_000 + 1;
  await assume(request);
  assert.equal(
    sts.inputs.map((i) => Boolean(i.Tags)),
    [true, false, false, true, false],
    'tried with tags again later',
  );
});

test("any other AccessDenied is the role's refusal: no retry, and the task hears the catalogue's reason, not STS's text", async () => {
  const sts = fakeSts(() => stsError('AccessDenied', `User: ${AGENT} is not authorized to perform: sts:AssumeRole on resource: ${request.roleArn}`));
  const logged: string[] = [];
  const err = (await createStsAssumer({ client: sts.client, onFailure: (_r, d) => logged.push(d) })(request).catch((e: unknown) => e)) as {
    failure: { kind: string; message: string };
  };
  assert.is(sts.inputs.length, 1, 'not retried without tags');
  assert.is(err.failure.kind, 'denied');
  assert.not.match(err.failure.message, /assumed-role|i-0abc123|sip-agent/);
  assert.match(logged.join('\n'), 'i-0abc123', "STS's words reach the agent's own log");
});

test("the agent's own expired session is 'unavailable', never a denial that drops cached grants", async () => {
  const sts = fakeSts(() => stsError('ExpiredToken', 'The security token included in the request is expired'));
  const err = (await createStsAssumer({ client: sts.client })(request).catch((e: unknown) => e)) as { failure: { kind: string; message: string } };
  assert.is(err.failure.kind, 'unavailable');
  assert.match(err.failure.message, "the agent's own AWS credentials were refused (ExpiredToken)");
  assert.is(sts.inputs.length, 1);
});

test('session names and source identities are one-to-one with app ids: /a/b and /a.b differ', () => {
  assert.is(sessionAppId('/a/b'), 'a.b');
  assert.is(sessionAppId('/a.b'), 'a..b');
  assert.is.not(roleSessionName('/a/b', 'a_b.instance-11111111-x'), roleSessionName('/a.b', 'a.b.instance-11111111-x'));
  assert.is(roleSessionName('/team/web', 'team_web.instance-0123abcd-x._app.1'), 'team.web@0123abcd');
});

test("STS is asked for the configured session length; an app's duration_seconds wins, bounded by the role (an hour when STS says it is longer)", async () => {
  const sts = fakeSts(() => ok);
  await createStsAssumer({ client: sts.client })(request);
  await createStsAssumer({ client: sts.client, durationSeconds: 7200 })(request);
  await createStsAssumer({ client: sts.client, durationSeconds: 7200 })({ ...request, durationSeconds: 1800 });
  assert.equal(
    sts.inputs.map((i) => i.DurationSeconds),
    [3600, 7200, 1800],
  );
  let now = 1_000_000;
  const bounded = fakeSts((i) =>
    (i.DurationSeconds ?? 0) > 3600
      ? Object.assign(new Error('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.'), {
          name: 'ValidationError',
          $metadata: { httpStatusCode: 400 },
        })
      : ok,
  );
  const assume = createStsAssumer({ client: bounded.client, now: () => now });
  await assume({ ...request, durationSeconds: 43200 });
  await assume({ ...request, durationSeconds: 43200 });
  assert.equal(
    bounded.inputs.map((i) => i.DurationSeconds),
    [43200, 3600, 3600],
    'an hour, remembered for the role',
  );
  now += 10 * 60_000 + 1;
  await assume({ ...request, durationSeconds: 43200 });
  assert.equal(
    bounded.inputs.map((i) => i.DurationSeconds),
    [43200, 3600, 3600, 43200, 3600],
    'asked again later',
  );
});

test.run();
