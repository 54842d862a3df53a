import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { SipError } from '../../core/errors/SipError.js';
import type { MasterAgentInfo } from '../../clients/mesos/masterTasks.js';

/** Where the server looks an instance up: EC2 (its private IP) and the Mesos master (its agents). */
export interface NodeLookup {
  /** The instance's private IPv4 address, or undefined when EC2 does not know it (or it is not running). */
  privateIpOf(instanceId: string): Promise<string | undefined>;
  /** The agents the master knows now (`GET_AGENTS`). */
  agents(): Promise<MasterAgentInfo[]>;
}

/**
 * The Mesos agent a proven instance is: EC2 says the instance's private
 * address, and the master must list an agent at that address (a DC/OS
 * agent's hostname is its private IP, `detect_ip`). An instance that is no
 * agent the master knows (stopped, removed, or never one) is refused.
 * @throws SipError `SIP_SERVER_UNKNOWN_NODE`
 */
export async function agentOfInstance(instanceId: string, lookup: NodeLookup): Promise<MasterAgentInfo> {
  const ip = await lookup.privateIpOf(instanceId);
  if (!ip) throw new SipError('SIP_SERVER_UNKNOWN_NODE', `EC2 knows no running instance ${instanceId}`, { expose: true });
  const agent = (await lookup.agents()).find((a) => a.hostname === ip);
  if (!agent) throw new SipError('SIP_SERVER_UNKNOWN_NODE', `instance ${instanceId} (${ip}) is no agent the Mesos master knows`, { expose: true });
  return agent;
}

/** {@link NodeLookup.privateIpOf} through EC2's `DescribeInstances` (the server's own credentials need `ec2:DescribeInstances`). */
export function ec2PrivateIps(ec2: EC2Client): NodeLookup['privateIpOf'] {
  return async (instanceId) => {
    try {
      const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      const i = out.Reservations?.[0]?.Instances?.[0];
      return i?.State?.Name === 'running' ? i.PrivateIpAddress : undefined;
    } catch (err) {
      if (/InvalidInstanceID/.test((err as Error).name)) return undefined;
      throw new SipError('SIP_SERVER_UPSTREAM_FAILED', `EC2 cannot be asked about ${instanceId}: ${(err as Error).name}`, { expose: true });
    }
  };
}
