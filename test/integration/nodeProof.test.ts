import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startEmulator, type AwsCredentials, type Emulator, type ImdsServer } from '@secure-instance-profiles/framework-plugin/local/emulator';
import { createLogger } from '@secure-instance-profiles/framework-plugin/log';
import { AUDIENCE_HEADER, createReplayGuard, signNodeProof, verifyNodeProof, type NodeProof } from '@secure-instance-profiles/framework-plugin/delivery/server';
import { readInstanceProfileCredentials } from '../src/fixtures/imds.js';

// How sip agent proves which node it is to sip server: the AWS SDK signs an
// sts:GetCallerIdentity with the node's instance-profile credentials (from its
// metadata endpoint, whose session name is the instance id, as on EC2) and the
// server has the emulator's STS, which checks signatures, say who signed it.
// Then everything a stolen, forged, replayed or misdirected proof tries.

const AUDIENCE = 'sip-server.test.example';
const INSTANCE = 'i-0123456789abcdef0';
const ctx = {} as { em: Emulator; imds: ImdsServer; agent: AwsCredentials; other: AwsCredentials };
const policy = () => ({ stsEndpoint: ctx.em.endpoint, audience: AUDIENCE, agentRoles: ['sip-test-agent'], account: ctx.em.accountId });
const sign = (credentials: AwsCredentials, audience = AUDIENCE): Promise<NodeProof> =>
  signNodeProof(audience, { endpoint: ctx.em.endpoint, region: ctx.em.region, credentials });
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    return `${(err as { code?: string }).code}: ${(err as Error).message}`;
  }
}

const proof = suite('node proof: a signed sts:GetCallerIdentity');

proof.before(async () => {
  ctx.em = await startEmulator({ logger: createLogger({ name: 'test', level: 'warn' }) });
  const iam = new IAMClient({ endpoint: ctx.em.endpoint, region: ctx.em.region, credentials: ctx.em.admin.credentials });
  const ec2Trust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com', AWS: ctx.em.ec2Service.arn }, Action: 'sts:AssumeRole' }],
  });
  const agentRole = await iam.send(new CreateRoleCommand({ RoleName: 'sip-test-agent', AssumeRolePolicyDocument: ec2Trust }));
  const otherRole = await iam.send(new CreateRoleCommand({ RoleName: 'some-other-role', AssumeRolePolicyDocument: ec2Trust }));
  iam.destroy();
  // The node's own metadata endpoint: its instance id, and its profile's session named after it.
  ctx.imds = await ctx.em.startInstanceMetadata({ agentRoleArn: agentRole.Role!.Arn!, instanceId: INSTANCE });
  ctx.agent = await readInstanceProfileCredentials(ctx.imds.endpoint);
  const sts = new STSClient({ endpoint: ctx.em.endpoint, region: ctx.em.region, credentials: ctx.em.ec2Service.credentials });
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: otherRole.Role!.Arn!, RoleSessionName: 'i-0fedcba9876543210' }))).Credentials!;
  ctx.other = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken!, expiration: c.Expiration! };
  sts.destroy();
});

proof.after(async () => {
  await ctx.em?.stop();
});

proof("the node's instance-profile session proves its instance id; the same proof twice is a replay", async () => {
  const p = await sign(ctx.agent);
  assert.is(p.method, 'POST');
  assert.is(p.body, 'Action=GetCallerIdentity&Version=2011-06-15');
  assert.match(p.headers.authorization ?? '', `SignedHeaders=`);
  assert.match(p.headers.authorization ?? '', AUDIENCE_HEADER, 'the audience header is signed');
  const replay = createReplayGuard(5 * 60_000);
  const node = await verifyNodeProof(p, policy(), replay);
  assert.equal({ instanceId: node.instanceId, roleName: node.roleName }, { instanceId: INSTANCE, roleName: 'sip-test-agent' });
  assert.match(await refusal(verifyNodeProof(p, policy(), replay)), 'SIP_SERVER_PROOF_INVALID: the proof was used before (a replay)');
});

proof('forged, misdirected, stale or foreign proofs are refused, each with its reason', async () => {
  const replay = createReplayGuard(5 * 60_000);
  const good = await sign(ctx.agent);
  // The audience changed after signing: STS finds the signature wrong.
  const forged = { ...good, headers: { ...good.headers, [AUDIENCE_HEADER]: 'elsewhere' } };
  assert.match(await refusal(verifyNodeProof(forged, { ...policy(), audience: 'elsewhere' }, replay)), 'STS refused the proof (HTTP 403)');
  // A proof meant for another server (a malicious server replaying what agents send it).
  assert.match(await refusal(verifyNodeProof(await sign(ctx.agent, 'evil-server'), policy(), replay)), 'meant for another server');
  // Signed for another STS than the server's own: never sent anywhere.
  let sent = 0;
  const counting = { ...policy(), stsEndpoint: 'http://127.0.0.1:9', send: async () => ((sent += 1), { status: 200, text: '' }) };
  assert.match(await refusal(verifyNodeProof(await sign(ctx.agent), counting, replay)), 'another STS endpoint');
  assert.is(sent, 0, 'a proof for another endpoint is not forwarded');
  // Another call than GetCallerIdentity.
  const other = { ...(await sign(ctx.agent)), body: 'Action=AssumeRole&Version=2011-06-15&RoleArn=x' };
  assert.match(await refusal(verifyNodeProof(other, policy(), replay)), 'GetCallerIdentity and nothing else');
  // Stale: the server's clock an hour on.
  assert.match(await refusal(verifyNodeProof(await sign(ctx.agent), { ...policy(), now: () => Date.now() + 3_600_000 }, replay)), 'dated outside 300 s');
  // The administrator (an IAM user), and a session of a role that is not an agent's.
  assert.match(await refusal(verifyNodeProof(await sign(ctx.em.admin.credentials), policy(), replay)), "not an instance profile's session");
  assert.match(await refusal(verifyNodeProof(await sign(ctx.other), policy(), replay)), "role some-other-role, not an agent's instance profile");
  // The agents' role name in another account, its session named after one of our instances: STS vouches for it there.
  const foreign = {
    ...policy(),
    send: async () => ({
      status: 200,
      text: `<GetCallerIdentityResult><Arn>arn:aws:sts::999999999999:assumed-role/sip-test-agent/${INSTANCE}</Arn></GetCallerIdentityResult>`,
    }),
  };
  assert.match(
    await refusal(verifyNodeProof(await sign(ctx.agent), foreign, replay)),
    `signed in account 999999999999, not this cluster's (${ctx.em.accountId})`,
  );
  // Unsigned: no Authorization at all.
  const { authorization: _drop, ...unsigned } = good.headers;
  assert.match(await refusal(verifyNodeProof({ ...good, headers: unsigned }, policy(), replay)), 'not signed with AWS Signature Version 4');
  // No credential value reaches an error.
  for (const r of [await refusal(verifyNodeProof(forged, policy(), createReplayGuard(1)))]) {
    assert.not.match(r, ctx.agent.secretAccessKey);
    assert.not.match(r, ctx.agent.sessionToken ?? 'no token');
  }
});

proof.run();
