import { randomBytes } from 'node:crypto';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  IAMClient,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import type { AwsCredentials, EmulatorIdentity } from './credentials.js';

/** Identities the harness creates before IAM enforcement is switched on. */
export interface BootstrapResult {
  /** Full administrator: used by Terraform and by tests to inspect the bucket. */
  readonly admin: EmulatorIdentity;
  /**
   * Stand-in for the EC2 service. On AWS, EC2 hands an instance its profile
   * role's credentials; here this identity assumes the agent role (which
   * trusts it) and the metadata endpoint serves the resulting session.
   * It may only call `sts:AssumeRole`.
   */
  readonly ec2Service: EmulatorIdentity;
  readonly accountId: string;
}

/**
 * Creates the admin and EC2-service identities in a fresh emulator.
 *
 * Must run while enforcement is still off (the emulator accepts the bootstrap
 * calls unsigned); it makes six IAM calls and no others.
 */
export async function bootstrapIdentities(endpoint: string, region: string): Promise<BootstrapResult> {
  const iam = new IAMClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'bootstrap', secretAccessKey: 'bootstrap' },
    maxAttempts: 1,
  });
  try {
    const admin = await createUser(iam, 'sip-admin', { Effect: 'Allow', Action: '*', Resource: '*' });
    const ec2Service = await createUser(iam, 'sip-ec2-service', { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' });
    const accountId = admin.arn.split(':')[4] ?? '';
    return { admin, ec2Service, accountId };
  } finally {
    iam.destroy();
  }
}

async function createUser(iam: IAMClient, userName: string, statement: Record<string, string>): Promise<EmulatorIdentity> {
  const user = await iam.send(new CreateUserCommand({ UserName: userName }));
  await iam.send(
    new PutUserPolicyCommand({
      UserName: userName,
      PolicyName: `${userName}-policy`,
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [statement] }),
    }),
  );
  const key = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  const arn = user.User?.Arn;
  const accessKeyId = key.AccessKey?.AccessKeyId;
  const secretAccessKey = key.AccessKey?.SecretAccessKey;
  if (!arn || !accessKeyId || !secretAccessKey) throw new Error(`emulator returned an incomplete identity for ${userName}`);
  return { arn, credentials: { accessKeyId, secretAccessKey } };
}

/**
 * Creates only the EC2-service stand-in, with an existing admin identity, in
 * an emulator the harness did not start (LocalStack, or any endpoint). The
 * user's name is unique per run; `remove()` deletes it and its key again.
 */
export async function bootstrapEc2Service(
  endpoint: string,
  region: string,
  admin: AwsCredentials,
): Promise<{ ec2Service: EmulatorIdentity; remove(): Promise<void> }> {
  const iam = new IAMClient({ endpoint, region, credentials: admin, maxAttempts: 2 });
  const userName = `sip-ec2-service-${randomBytes(4).toString('hex')}`;
  const ec2Service = await createUser(iam, userName, { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' });
  return {
    ec2Service,
    async remove() {
      await iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: ec2Service.credentials.accessKeyId })).catch(() => undefined);
      await iam.send(new DeleteUserPolicyCommand({ UserName: userName, PolicyName: `${userName}-policy` })).catch(() => undefined);
      await iam.send(new DeleteUserCommand({ UserName: userName })).catch(() => undefined);
      iam.destroy();
    },
  };
}
