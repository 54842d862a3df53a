import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import type { EmulatorIdentity } from './credentials.js';

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
