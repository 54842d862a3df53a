import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { SipError } from '../../core/errors/SipError.js';
import type { Logger } from '../../log/logger.js';
import { freePort } from '../../net/freePort.js';
import { bootstrapEc2Service } from './bootstrap.js';
import type { AwsCredentials } from './credentials.js';
import { assembleEmulator, startEmulator, type Emulator, type EmulatorInit } from './startEmulator.js';

const run = promisify(execFile);

/** Which AWS the harness talks to. */
export type EmulatorKind = 'moto' | 'endpoint' | 'localstack';

/** An emulator and what the suites may rely on. */
export interface OpenedEmulator extends Emulator {
  readonly kind: EmulatorKind;
  /** One line for the test output: which emulator, where. */
  readonly description: string;
  /** Whether identity and trust policies are enforced (denials can be asserted). */
  readonly enforcesIam: boolean;
}

/** Configuration read from the environment (see {@link emulatorConfig}). */
export interface EmulatorConfig {
  readonly kind: EmulatorKind;
  readonly endpoint?: string;
  readonly localstackImage: string;
  readonly enforcesIam?: boolean;
}

const DEFAULT_LOCALSTACK_IMAGE = 'localstack/localstack:4';

/**
 * The emulator choice: `SIP_EMULATOR` = `moto` (default: the embedded moto
 * harness), `endpoint` (an AWS you run at `AWS_ENDPOINT_URL`, e.g. LocalStack,
 * administered with the `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` of the
 * environment, `test`/`test` when unset) or `localstack` (started through
 * `@testcontainers/localstack` from `SIP_LOCALSTACK_IMAGE`, which must be
 * present locally). `SIP_EMULATOR_ENFORCES_IAM=1` declares that an endpoint
 * or LocalStack (Pro, `ENFORCE_IAM=1`) enforces IAM.
 * @throws SipError `SIP_EMULATOR_CONFIG_INVALID`
 */
export function emulatorConfig(env: Readonly<Record<string, string | undefined>>): EmulatorConfig {
  const kind = (env.SIP_EMULATOR || 'moto') as EmulatorKind;
  if (!['moto', 'endpoint', 'localstack'].includes(kind))
    throw new SipError('SIP_EMULATOR_CONFIG_INVALID', `SIP_EMULATOR must be moto, endpoint or localstack, not "${kind}"`, { expose: true });
  if (kind === 'endpoint' && !env.AWS_ENDPOINT_URL)
    throw new SipError('SIP_EMULATOR_CONFIG_INVALID', 'SIP_EMULATOR=endpoint needs AWS_ENDPOINT_URL (e.g. http://127.0.0.1:4566)', { expose: true });
  return {
    kind,
    ...(env.AWS_ENDPOINT_URL ? { endpoint: env.AWS_ENDPOINT_URL } : {}),
    localstackImage: env.SIP_LOCALSTACK_IMAGE || DEFAULT_LOCALSTACK_IMAGE,
    ...(env.SIP_EMULATOR_ENFORCES_IAM ? { enforcesIam: env.SIP_EMULATOR_ENFORCES_IAM === '1' } : {}),
  };
}

/** Whether the LocalStack image is on this machine (nothing can be pulled here), and what to say. */
export async function localstackAvailability(image: string): Promise<{ available: boolean; note: string }> {
  const present = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', image]).then(
    () => true,
    () => false,
  );
  return present
    ? { available: true, note: `LocalStack image ${image} is present: SIP_EMULATOR=localstack runs the suites against it` }
    : { available: false, note: `LocalStack: image ${image} is not present locally (and cannot be pulled here), so it is not used` };
}

async function external(endpoint: string, region: string, admin: AwsCredentials, logger: Logger, stopBackend: () => Promise<void>): Promise<Emulator> {
  const sts = new STSClient({ endpoint, region, credentials: admin, maxAttempts: 2 });
  const me = await sts.send(new GetCallerIdentityCommand({})).finally(() => sts.destroy());
  const { ec2Service, remove } = await bootstrapEc2Service(endpoint, region, admin);
  return assembleEmulator({
    endpoint,
    region,
    accountId: me.Account ?? '',
    admin: { arn: me.Arn ?? '', credentials: admin },
    ec2Service,
    logger,
    stopBackend: async () => {
      await remove();
      await stopBackend();
    },
  });
}

/**
 * Opens the configured emulator (see {@link emulatorConfig}): the moto harness
 * with IAM enforcement, an existing endpoint, or LocalStack in a container on
 * the host network. For the latter two an EC2-service stand-in user is
 * created (and removed on stop) so metadata endpoints can serve agent-role
 * sessions.
 * @throws SipError `SIP_LOCALSTACK_UNAVAILABLE` when its image is not present.
 */
export async function openEmulator(init: EmulatorInit & { env?: Readonly<Record<string, string | undefined>> }): Promise<OpenedEmulator> {
  const env = init.env ?? process.env;
  const config = emulatorConfig(env);
  const region = init.region ?? 'us-east-1';
  if (config.kind === 'moto') {
    const em = await startEmulator(init);
    return Object.assign(em, { kind: 'moto' as const, description: `moto harness at ${em.endpoint} (IAM enforced)`, enforcesIam: true });
  }
  const admin: AwsCredentials = {
    accessKeyId: env.AWS_ACCESS_KEY_ID || 'test',
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY || 'test',
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
  if (config.kind === 'endpoint') {
    const em = await external(config.endpoint!, region, admin, init.logger, async () => undefined);
    const enforces = config.enforcesIam ?? false;
    return Object.assign(em, {
      kind: 'endpoint' as const,
      description: `existing endpoint ${config.endpoint} (IAM ${enforces ? 'enforced' : 'not declared enforced: denials are not checked'})`,
      enforcesIam: enforces,
    });
  }
  const { available, note } = await localstackAvailability(config.localstackImage);
  if (!available) throw new SipError('SIP_LOCALSTACK_UNAVAILABLE', note, { expose: true });
  const port = await freePort();
  const { LocalstackContainer } = await import('@testcontainers/localstack');
  const enforces = config.enforcesIam ?? false;
  const container = await new LocalstackContainer(config.localstackImage)
    .withNetworkMode('host')
    .withEnvironment({ GATEWAY_LISTEN: `127.0.0.1:${port}`, ...(enforces ? { ENFORCE_IAM: '1' } : {}) })
    .withLabels({ 'sip.managed': 'true' })
    .start();
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    const em = await external(endpoint, region, admin, init.logger, async () => void (await container.stop()));
    return Object.assign(em, {
      kind: 'localstack' as const,
      description: `LocalStack ${config.localstackImage} at ${endpoint} (IAM ${enforces ? 'enforced' : 'not enforced: denials are not checked'})`,
      enforcesIam: enforces,
    });
  } catch (err) {
    await container.stop();
    throw err;
  }
}
