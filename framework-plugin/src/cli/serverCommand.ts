import { EC2Client } from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { createMarathonClient } from '../clients/marathon/client.js';
import { createMesosMasterClient } from '../clients/mesos/masterClient.js';
import { createCredentialCache } from '../core/agent/credentialCache.js';
import type { RolePolicy } from '../core/agent/policy.js';
import { SipError } from '../core/errors/SipError.js';
import type { RoleSource } from '../core/agent/roleOfApp.js';
import { readPolicy } from '../delivery/endpoint/policyFile.js';
import { createStsAssumer } from '../delivery/endpoint/stsAssumer.js';
import { createServerCa, issueServerCertificate, newKeyPair, type ServerCa } from '../delivery/server/certificates.js';
import { createCredentialServer } from '../delivery/server/credentialServer.js';
import { ec2PrivateIps } from '../delivery/server/nodeOfInstance.js';
import { createLogger } from '../log/logger.js';
import type { UpstreamAuth } from '../net/upstreamAuth.js';
import { createDcosSecretsClient } from '../stores/dcosSecretsClient.js';
import { authOf, serverCa, trustCaFile } from './agentCommand.js';
import { ExitCode, UsageError, type CliIo } from './io.js';

/** Usage of `sip server`. */
export const SERVER_USAGE = `usage: sip server --ca-cert FILE --ca-key FILE --agent-role NAME --mesos-master-url URL
                  --marathon-url URL (--secrets-url URL | --policy FILE) [options]
       sip server ca create DIR

The only holder of app roles: agents (sip agent --server) prove their node with a signed
sts:GetCallerIdentity and get a short-lived client certificate (POST /v1/login); a task's
credentials (POST /v1/credentials, mutual TLS) are granted only where the Mesos master and
Marathon place the task on the asking agent, for the role its app may use, assumed with this
server's own AWS identity (the SDK's default chain: the server role).

  ca create DIR                a new CA for the replicas: DIR/ca.pem (give it to agents) and DIR/ca.key (0600)

options:
  --listen HOST:PORT           where agents reach it (default 0.0.0.0:51680)
  --host NAME                  a name or address agents use for it, in its certificate (repeatable)
  --ca-cert FILE, --ca-key FILE the replicas' CA (sip server ca create)
  --trust-domain NAME          the agents' certificate URIs: spiffe://NAME/mesos-agent/<id> (default sip)
  --audience NAME              the servers' name in node proofs (default sip-server; agents: --server-audience)
  --agent-role NAME            the agents' instance-profile role (repeatable; required)
  --cert-lifetime SECONDS      an agent certificate's life (default 3600)
  --mesos-master-url URL       the leading Mesos master (DC/OS: https://leader.mesos:5050)
  --marathon-url URL           Marathon
  --secrets-url URL | --policy FILE
                               roles from each app's AWS config secret, or a policy file
  --token-file FILE | --service-account UID --service-account-key FILE --cluster-url URL
  | --http-credentials FILE     how it proves itself to the master, Marathon and the Secrets API
                               (DC/OS service account, or HTTP Basic for open-source Mesos and Marathon)
  --ca-file FILE               trust this CA for https upstreams (DC/OS: /run/dcos/pki/CA/ca-bundle.crt)
  --duration SECONDS, --max-sts-calls N
                               session length (default 3600), STS calls per second (default 10)
  --ready-file FILE            write its URL here once serving
STS for proofs: $AWS_ENDPOINT_URL_STS, else $AWS_ENDPOINT_URL, else the region's.`;

const listenOf = (v: string): { host: string; port: number } => {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new UsageError('--listen must be HOST:PORT');
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
};

/** What `sip server` runs with, validated here. */
interface ServerConfig {
  listen: { host: string; port: number };
  hosts: string[];
  ca: ServerCa;
  trustDomain: string;
  audience: string;
  agentRoles: string[];
  stsEndpoint: string;
  certLifetimeSeconds: number;
  mesosMasterUrl: string;
  marathonUrl: string;
  roles: { kind: 'secrets'; secretsUrl: string } | { kind: 'policy'; policy: RolePolicy };
  auth: UpstreamAuth | undefined;
  durationSeconds: number;
  maxStsCallsPerSecond: number;
}

/** This server's AWS account (STS `GetCallerIdentity` with its own identity): the agents' role must be in it. */
async function ownAccount(): Promise<string> {
  const sts = new STSClient({});
  try {
    const account = (await sts.send(new GetCallerIdentityCommand({}))).Account;
    if (!account) throw new Error('STS named no account');
    return account;
  } catch (err) {
    throw new SipError('SIP_SERVER_UPSTREAM_FAILED', `sip server cannot learn its own AWS account from STS: ${(err as Error).message}`, { expose: true });
  } finally {
    sts.destroy();
  }
}

/** Starts the server: its serving certificate, EC2 and STS as itself, the master, Marathon, the role source, the cache. */
async function startServer(config: ServerConfig, logger: Logger): Promise<{ url: string; stop(): Promise<void> }> {
  const auth = config.auth ? { auth: config.auth } : {};
  const serving = await newKeyPair();
  const hosts = [config.listen.host, ...config.hosts].filter((h) => h !== '0.0.0.0' && h !== '::');
  const cert = await issueServerCertificate(config.ca, { hosts, publicKeyPem: serving.publicKeyPem, lifetimeSeconds: 365 * 86_400 });
  const ec2 = new EC2Client({});
  const master = createMesosMasterClient({ url: config.mesosMasterUrl, ...auth });
  const marathon = createMarathonClient({ url: config.marathonUrl, ...auth });
  const source: RoleSource =
    config.roles.kind === 'policy'
      ? { kind: 'policy', policy: config.roles.policy }
      : {
          kind: 'secrets',
          store: createDcosSecretsClient({ url: config.roles.secretsUrl, ...auth }),
          audit: (record) => logger.info({ audit: record }, 'secret access decision'),
        };
  const assume = createStsAssumer({
    durationSeconds: config.durationSeconds,
    onFailure: (r, detail) => logger.warn({ roleArn: r.roleArn, session: r.sessionName, sts: detail }, 'AssumeRole failed'),
  });
  const server = createCredentialServer({
    ca: config.ca,
    tls: { cert, key: serving.privateKeyPem },
    trustDomain: config.trustDomain,
    certLifetimeSeconds: config.certLifetimeSeconds,
    proof: { stsEndpoint: config.stsEndpoint, audience: config.audience, agentRoles: config.agentRoles, account: await ownAccount() },
    nodes: { privateIpOf: ec2PrivateIps(ec2), agents: () => master.getAgents() },
    masterTasks: () => master.getTasks(),
    marathon,
    roles: source,
    cache: createCredentialCache({ assume, now: Date.now, maxCallsPerSecond: config.maxStsCallsPerSecond }),
    logger,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  return {
    url: `https://${config.listen.host}:${(server.address() as { port: number }).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        ec2.destroy();
      }),
  };
}

/** `sip server ca create DIR`: a CA for the replicas, never overwriting one. */
async function createCa(dir: string | undefined, io: CliIo): Promise<number> {
  if (!dir) throw new UsageError('usage: sip server ca create DIR');
  const ca = await createServerCa();
  try {
    await writeFile(join(dir, 'ca.key'), ca.keyPem, { mode: 0o600, flag: 'wx' });
    await writeFile(join(dir, 'ca.pem'), ca.certPem, { mode: 0o644, flag: 'wx' });
  } catch (err) {
    throw new SipError(
      'SIP_AGENT_CONFIG_INVALID',
      `cannot write a new CA in ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'}; an existing one is never overwritten)`,
      {
        expose: true,
      },
    );
  }
  io.stdout.write(`${join(dir, 'ca.pem')} (agents: --server-ca) and ${join(dir, 'ca.key')} (servers only, 0600)\n`);
  return ExitCode.ok;
}

/** `sip server`: a replica, until SIGTERM. */
export async function serverCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      listen: { type: 'string', default: '0.0.0.0:51680' },
      host: { type: 'string', multiple: true, default: [] },
      'ca-cert': { type: 'string' },
      'ca-key': { type: 'string' },
      'trust-domain': { type: 'string', default: 'sip' },
      audience: { type: 'string', default: 'sip-server' },
      'agent-role': { type: 'string', multiple: true, default: [] },
      'cert-lifetime': { type: 'string', default: '3600' },
      'mesos-master-url': { type: 'string' },
      'marathon-url': { type: 'string' },
      'secrets-url': { type: 'string' },
      policy: { type: 'string' },
      'token-file': { type: 'string' },
      'service-account': { type: 'string' },
      'service-account-key': { type: 'string' },
      'cluster-url': { type: 'string' },
      'http-credentials': { type: 'string' },
      'ca-file': { type: 'string' },
      duration: { type: 'string', default: '3600' },
      'max-sts-calls': { type: 'string', default: '10' },
      'ready-file': { type: 'string' },
    },
  });
  if (positionals[0] === 'ca')
    return positionals[1] === 'create' ? createCa(positionals[2], io) : Promise.reject(new UsageError('usage: sip server ca create DIR'));
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  if (!values['ca-cert'] || !values['ca-key']) throw new UsageError('--ca-cert FILE and --ca-key FILE are required (sip server ca create DIR makes them)');
  if (values['agent-role'].length === 0) throw new UsageError("--agent-role NAME is required: the agents' instance-profile role");
  if (!values['mesos-master-url'] || !values['marathon-url']) throw new UsageError('--mesos-master-url URL and --marathon-url URL are required');
  if (Boolean(values['secrets-url']) === Boolean(values.policy)) throw new UsageError('give exactly one of --secrets-url URL or --policy FILE');
  const lifetime = Number(values['cert-lifetime']);
  if (!Number.isInteger(lifetime) || lifetime < 300 || lifetime > 86_400) throw new UsageError('--cert-lifetime must be 300-86400 seconds');
  const duration = Number(values.duration);
  if (!Number.isInteger(duration) || duration < 900 || duration > 43200) throw new UsageError('--duration must be 900-43200 seconds');
  const listen = listenOf(values.listen);
  if (values['ca-file']) await trustCaFile(values['ca-file'], io);
  const keyPem = await io.readFile(values['ca-key']).catch((err: NodeJS.ErrnoException) => {
    throw new SipError('SIP_AGENT_CONFIG_INVALID', `--ca-key ${values['ca-key']} cannot be read (${err.code ?? 'error'})`, { expose: true });
  });
  const region = io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const config: ServerConfig = {
    listen,
    hosts: values.host,
    ca: { certPem: await serverCa(values['ca-cert'], io), keyPem },
    trustDomain: values['trust-domain'],
    audience: values.audience,
    agentRoles: values['agent-role'],
    stsEndpoint: io.env.AWS_ENDPOINT_URL_STS ?? io.env.AWS_ENDPOINT_URL ?? `https://sts.${region}.amazonaws.com`,
    certLifetimeSeconds: lifetime,
    mesosMasterUrl: values['mesos-master-url'],
    marathonUrl: values['marathon-url'],
    roles: values.policy ? { kind: 'policy', policy: await readPolicy(values.policy, io.readFile) } : { kind: 'secrets', secretsUrl: values['secrets-url']! },
    auth: await authOf(values, io, values['marathon-url']),
    durationSeconds: duration,
    maxStsCallsPerSecond: Number(values['max-sts-calls']) || 10,
  };
  const logger = createLogger({ name: 'sip-server', destination: process.stdout });
  const server = await startServer(config, logger);
  if (values['ready-file']) await writeFile(values['ready-file'], `${server.url}\n`, { mode: 0o600 });
  logger.info(
    { url: server.url, audience: config.audience, agentRoles: config.agentRoles, roles: config.roles.kind, sts: config.stsEndpoint },
    'sip server serving',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await server.stop();
  return ExitCode.ok;
}
