import { CreateSubnetCommand, CreateVpcCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import type { AwsCredentials } from './credentials.js';

/** Launches the local cluster's agents as EC2 instances in the emulator. */
export interface AgentInstances {
  /**
   * An instance whose private address is the node's (`127.0.0.N`), as a
   * DC/OS node's hostname is its private IP, tagged `sip:agent` or
   * `sip:master`; its id.
   */
  launch(privateIp: string, kind?: 'agent' | 'master'): Promise<string>;
}

/** An AMI the emulator knows (moto's default set). */
const AMI = 'ami-12c6146b';

/**
 * The agents' EC2 instances, so that what a server learns about a node from
 * EC2 (`DescribeInstances`: its private IP) is what it learns on AWS: one VPC
 * and subnet over the agents' loopback range, an instance per agent with the
 * agent's address as its private IP, tagged `sip:agent` (masters, for sip
 * server, `sip:master`).
 */
export async function agentInstances(em: { endpoint: string; region: string; admin: { credentials: AwsCredentials } }): Promise<AgentInstances> {
  const ec2 = new EC2Client({ endpoint: em.endpoint, region: em.region, credentials: em.admin.credentials, maxAttempts: 2 });
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '127.0.0.0/24' }))).Vpc!.VpcId!;
  const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '127.0.0.0/24' }))).Subnet!.SubnetId!;
  return {
    async launch(privateIp, kind = 'agent') {
      const out = await ec2.send(
        new RunInstancesCommand({
          ImageId: AMI,
          InstanceType: 't3.medium',
          MinCount: 1,
          MaxCount: 1,
          SubnetId: subnet,
          PrivateIpAddress: privateIp,
          TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: `sip:${kind}`, Value: privateIp }] }],
        }),
      );
      const id = out.Instances?.[0]?.InstanceId;
      if (!id) throw new Error(`the emulator launched no instance for ${privateIp}`);
      return id;
    },
  };
}
