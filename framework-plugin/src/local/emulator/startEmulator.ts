import { randomBytes } from 'node:crypto';
import type { Logger } from '../../log/logger.js';
import { agentRoleCredentials } from './agentRoleCredentials.js';
import { bootstrapIdentities } from './bootstrap.js';
import type { EmulatorIdentity } from './credentials.js';
import { startImdsServer, type ImdsServer } from './imdsServer.js';
import { startMotoServer } from './motoServer.js';

/** User options of {@link startEmulator}. */
export interface EmulatorInit {
  logger: Logger;
  /** Python with `moto[server]`. Default `python3`. */
  python?: string;
  /** Region the emulator's clients use. Default `us-east-1`. */
  region?: string;
}

/** Options of {@link Emulator.startInstanceMetadata}. */
export interface InstanceMetadataInit {
  /** The agent (instance-profile) role whose sessions the endpoint serves. */
  agentRoleArn: string;
  /** Session length of the served credentials, seconds. Default 3600. */
  durationSeconds?: number;
  /** The instance's id (`i-` and 17 hex digits): served as `instance-id` and the role session's name, as on EC2. Default: a new one. */
  instanceId?: string;
}

/** A running AWS emulator with IAM enforcement on. */
export interface Emulator {
  /** For `AWS_ENDPOINT_URL`. */
  readonly endpoint: string;
  readonly region: string;
  readonly accountId: string;
  /** Administrator identity (Terraform, test inspection). */
  readonly admin: EmulatorIdentity;
  /** Stand-in for the EC2 service; the agent role must trust its ARN. */
  readonly ec2Service: EmulatorIdentity;
  /** The emulator's own process, when it runs as one here (for crash recovery). */
  readonly pid?: number;
  /**
   * Starts an IMDSv2 endpoint handing out sessions of `agentRoleArn`, assumed
   * for real through the emulator's STS and refreshed before expiry. Stopped
   * with the emulator.
   */
  startInstanceMetadata(init: InstanceMetadataInit): Promise<ImdsServer>;
  /** Stops metadata endpoints and the emulator. Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts the embedded AWS emulator: moto with the project's trust-policy
 * fixes, an admin and an EC2-service identity, then IAM enforcement on: every
 * later request is signed and checked against identity and trust policies.
 */
export async function startEmulator(init: EmulatorInit): Promise<Emulator> {
  const region = init.region ?? 'us-east-1';
  const moto = await startMotoServer({ logger: init.logger, ...(init.python ? { python: init.python } : {}) });
  try {
    const ids = await bootstrapIdentities(moto.endpoint, region);
    await moto.enforceIam();
    init.logger.info({ component: 'emulator', endpoint: moto.endpoint }, 'IAM enforcement on');
    return { ...assembleEmulator({ endpoint: moto.endpoint, region, ...ids, logger: init.logger, stopBackend: () => moto.stop() }), pid: moto.pid };
  } catch (err) {
    await moto.stop();
    throw err;
  }
}

/**
 * An {@link Emulator} over any AWS endpoint whose admin and EC2-service
 * identities exist: metadata endpoints serve agent-role sessions assumed
 * through that endpoint's STS. `stopBackend` runs last on stop.
 */
export function assembleEmulator(parts: {
  endpoint: string;
  region: string;
  accountId: string;
  admin: EmulatorIdentity;
  ec2Service: EmulatorIdentity;
  logger: Logger;
  stopBackend: () => Promise<void>;
}): Emulator {
  const children: ImdsServer[] = [];
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await Promise.allSettled(children.map((c) => c.stop()));
      await parts.stopBackend();
    })());
  return {
    endpoint: parts.endpoint,
    region: parts.region,
    accountId: parts.accountId,
    admin: parts.admin,
    ec2Service: parts.ec2Service,
    async startInstanceMetadata(opts) {
      const roleName = opts.agentRoleArn.split('/').pop() ?? '';
      const instanceId = opts.instanceId ?? newInstanceId();
      const imds = await startImdsServer({
        roleName,
        logger: parts.logger,
        instanceId,
        credentials: agentRoleCredentials({
          endpoint: parts.endpoint,
          region: parts.region,
          roleArn: opts.agentRoleArn,
          sessionName: instanceId,
          sourceCredentials: parts.ec2Service.credentials,
          ...(opts.durationSeconds ? { durationSeconds: opts.durationSeconds } : {}),
        }),
      });
      children.push(imds);
      return imds;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** An EC2 instance id as EC2 gives them: `i-` and 17 hex digits. */
export const newInstanceId = (): string => `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
