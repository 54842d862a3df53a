import { randomBytes } from 'node:crypto';
import { globalAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { basicAuthFromFile } from '../clients/auth/httpCredentials.js';
import { serviceAccountAuth } from '../clients/auth/serviceAccount.js';
import { SipError } from '../core/errors/SipError.js';
import { startAgent, type AgentConfig } from '../delivery/endpoint/agent.js';
import type { ListenAt } from '../delivery/endpoint/agentServer.js';
import { METADATA_ADDRESSES, type MetadataBlockSpec } from '../delivery/endpoint/metadataBlock.js';
import { readPolicy } from '../delivery/endpoint/policyFile.js';
import { createLogger } from '../log/logger.js';
import { tokenAuth, type UpstreamAuth } from '../net/upstreamAuth.js';
import { ExitCode, UsageError, type CliIo } from './io.js';

export { readPolicy } from '../delivery/endpoint/policyFile.js';

/** Usage of `sip agent`. */
export const AGENT_USAGE = `usage: sip agent --marathon-url URL (--secrets-url URL | --policy FILE) [options]

Runs on a Mesos agent (as root): serves the ECS container-credentials protocol
on loopback, so a task that has AWS_CONTAINER_CREDENTIALS_FULL_URI set gets
short-lived credentials for its own app's role through any AWS SDK's default
chain. The caller is found from its connection (socket → process → cgroup →
Mesos container → task, checked with Marathon); the external id never enters a task.

upstreams:
  --marathon-url URL           Marathon (on the masters; $SIP_MARATHON_URL); required
  --mesos-agent-url URL        this node's Mesos agent (default http://$LIBPROCESS_IP:5051, the
                               address DC/OS's detect_ip gives the agent, else 127.0.0.1)
  --secrets-url URL            DC/OS Secrets API: roles from the AWS config secret each app names
  --policy FILE                no secrets service: a JSON policy mapping Marathon groups to roles
                               {"rules":[{"group":"/team","roleArn":"arn:…","externalId":"…"}]}
  --server URL                 or: sip server decides (repeat for each replica, https://host:port);
                               this agent holds no secrets access and no role, and proves its node
                               with its instance profile (a signed sts:GetCallerIdentity)
  --server-ca FILE             the servers' CA (PEM), with --server
  --server-audience NAME       the servers' name in node proofs, with --server (default sip-server)
  --ca-file FILE               trust this CA for https upstreams (DC/OS: /run/dcos/pki/CA/ca-bundle.crt)
  --insecure-http              allow plain HTTP to upstreams off this host (logged at start)
  --upstream-uid UID           besides root, a uid that may hold a loopback upstream's port (repeatable)

proving who the agent is (one of):
  --token-file FILE            a fixed DC/OS ACS token ($SIP_ACS_TOKEN)
  --service-account UID        a DC/OS service account: logs in with --service-account-key FILE
  --service-account-key FILE   (its RSA private key, PEM) at --cluster-url URL, renewed before expiry
  --cluster-url URL            where /acs/api/v1/auth/login is (default: the Marathon URL's origin)
  --http-credentials FILE      HTTP Basic for open-source Mesos and Marathon (--http_credentials),
                               Mesos's format: {"credentials":[{"principal":"…","secret":"…"}]}

serving:
  --listen HOST:PORT           where tasks call (default 127.0.0.1:51679; loopback only)
  --metrics-listen ADDR        Prometheus metrics (GET /metrics): unix:/PATH (mode 0600, root only)
                               or HOST:PORT; off unless given
  --cgroups-root ROOT          Mesos's --cgroups_root (default mesos)
  --cgroup-hierarchies LIST    v1 hierarchies whose line must name the caller's container (default freezer,name=systemd)
  --docker-socket PATH         resolve DOCKER tasks through the Docker Engine (read-only), e.g.
                               /var/run/docker.sock; without, DOCKER tasks are refused with the reason
  --require-task-token         write each Marathon task's token into its sandbox (.sip-task-token)
                               and refuse requests without it (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)
  --task-token-key-file FILE   the tokens' key (base64url, created 0600 if missing), so tokens outlive
                               a restart; default a new key each start (tokens rewritten)

metadata service:
  --block-metadata             close the EC2 metadata service to tasks (nftables table inet
                               sip_agent, replaced at start, removed on stop, kept if the agent
                               dies); needs --task-uids or --net-cls-handle
  --nft-table NAME             the nftables table it owns (default sip_agent)
  --task-uids MIN-MAX          uids Mesos runs tasks as (repeatable)
  --net-cls-handle 0xHHHH      Mesos's --cgroups_net_cls_primary_handle (every container's classid)
  --metadata-address IP[:PORT] the metadata service (repeatable; default 169.254.169.254 and fd00:ec2::254)

sessions:
  --duration SECONDS           session length asked of STS (default 3600)
  --max-sts-calls N            AssumeRole calls per second, the rest queue (default 10)
  --ready-file FILE            write the listening URL here once serving

Audit lines (one per issue and per denial; never a credential) go to stdout as JSON.`;

const hostPort = (v: string, what: string): { host: string; port: number } => {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`${what} must be HOST:PORT`);
  const host = m[1]!.replace(/^\[|\]$/g, '');
  if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(host))
    throw new UsageError(`${what}: the agent serves loopback only (127.0.0.0/8, ::1): every SDK refuses a plain-HTTP credentials URI elsewhere`);
  return { host, port: Number(m[2]) };
};

/** `--cgroup-hierarchies freezer,name=systemd`: v1 hierarchy names as `/proc/<pid>/cgroup` spells them. */
const hierarchies = (v: string): string[] => {
  const list = v.split(',').map((h) => h.trim());
  if (list.some((h) => !/^(?:name=)?[a-z_][a-z0-9_]*$/.test(h)))
    throw new UsageError('--cgroup-hierarchies takes v1 hierarchy names, comma-separated (e.g. freezer,name=systemd)');
  return list;
};
/** `--block-metadata` and its flags, checked here (the ruleset checks them again when built). */
function metadataBlockOf(values: {
  'task-uids': string[];
  'net-cls-handle'?: string | undefined;
  'metadata-address': string[];
  'nft-table': string;
}): MetadataBlockSpec {
  const uids = values['task-uids'].map((r) => {
    const m = /^(\d+)-(\d+)$/.exec(r);
    if (!m) throw new UsageError(`--task-uids ${r}: give MIN-MAX (e.g. 2000000-2999999)`);
    return { min: Number(m[1]), max: Number(m[2]) };
  });
  const handle = values['net-cls-handle'];
  if (handle !== undefined && !/^0x[0-9a-fA-F]{1,4}$/.test(handle)) throw new UsageError("--net-cls-handle takes Mesos's primary handle, e.g. 0x1234");
  if (uids.length === 0 && handle === undefined)
    throw new UsageError('--block-metadata needs the tasks it closes the service to: --task-uids MIN-MAX or --net-cls-handle 0xHHHH');
  const targets = values['metadata-address'].map((a) => {
    // IPv4[:PORT], [IPv6][:PORT] or a bare IPv6 address.
    const m = /^\[([0-9a-fA-F:]+)\](?::(\d+))?$/.exec(a) ?? /^([0-9.]+)(?::(\d+))?$/.exec(a) ?? /^([0-9a-fA-F:]+)()$/.exec(a);
    if (!m) throw new UsageError(`--metadata-address ${a}: give IP, IP:PORT or [IPv6]:PORT`);
    return m[2] ? { host: m[1]!, port: Number(m[2]) } : { host: m[1]! };
  });
  return {
    table: values['nft-table'],
    targets: targets.length > 0 ? targets : METADATA_ADDRESSES,
    tasks: { uids, ...(handle !== undefined ? { netClsPrimaryHandle: Number.parseInt(handle, 16) } : {}) },
  };
}

/** The task tokens' key: from FILE (created, 0600, when missing) or new for this run. */
async function tokenKeyOf(file: string | undefined, io: CliIo): Promise<Buffer> {
  if (file === undefined) return randomBytes(32);
  await writeFile(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST')
      throw new SipError('SIP_AGENT_CONFIG_INVALID', `--task-token-key-file ${file} cannot be created (${err.code ?? 'error'})`, { expose: true });
  });
  const key = Buffer.from((await io.readFile(file)).trim(), 'base64url');
  if (key.length < 16) throw new SipError('SIP_AGENT_CONFIG_INVALID', '--task-token-key-file must hold at least 16 bytes (base64url)', { expose: true });
  return key;
}

const listenAt = (v: string, what: string): ListenAt => {
  if (v.startsWith('unix:')) {
    const socket = v.slice(5);
    if (!socket.startsWith('/')) throw new UsageError(`${what} unix:PATH needs an absolute path`);
    return { socket };
  }
  return hostPort(v, what);
};

/**
 * `--ca-file`: https upstreams (DC/OS's Admin Router, the masters) are
 * trusted with this CA besides the system's roots.
 * @throws SipError `SIP_AGENT_CONFIG_INVALID` when it cannot be read or holds no certificate.
 */
export async function trustCaFile(file: string, io: CliIo): Promise<void> {
  const ca = await io.readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new SipError('SIP_AGENT_CONFIG_INVALID', `--ca-file ${file} cannot be read (${err.code ?? 'error'})`, { expose: true });
  });
  if (!ca.includes('-----BEGIN CERTIFICATE-----'))
    throw new SipError('SIP_AGENT_CONFIG_INVALID', `--ca-file ${file} holds no PEM certificate`, { expose: true });
  globalAgent.options.ca = [...rootCertificates, ca];
}

/** How the agent proves itself upstream, from the options (at most one way). */
export async function authOf(
  values: Record<string, string | boolean | string[] | undefined>,
  io: CliIo,
  marathonUrl: string,
): Promise<UpstreamAuth | undefined> {
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const ways = [str('token-file') ?? io.env.SIP_ACS_TOKEN, str('service-account'), str('http-credentials')].filter(Boolean);
  if (ways.length > 1) throw new UsageError('give at most one of --token-file ($SIP_ACS_TOKEN), --service-account or --http-credentials');
  if (str('http-credentials')) return basicAuthFromFile(str('http-credentials')!, io.readFile);
  if (str('service-account')) {
    if (!str('service-account-key')) throw new UsageError('--service-account needs --service-account-key FILE');
    const privateKey = await io.readFile(str('service-account-key')!).catch((err: NodeJS.ErrnoException) => {
      throw new SipError('SIP_AGENT_CONFIG_INVALID', `--service-account-key ${str('service-account-key')} cannot be read (${err.code ?? 'error'})`, {
        expose: true,
      });
    });
    return serviceAccountAuth({
      clusterUrl: str('cluster-url') ?? io.env.SIP_CLUSTER_URL ?? new URL(marathonUrl).origin,
      uid: str('service-account')!,
      privateKey,
    });
  }
  const token = str('token-file') ? (await io.readFile(str('token-file')!)).trim() : io.env.SIP_ACS_TOKEN;
  return token ? tokenAuth(token) : undefined;
}

/** The servers' CA from `--server-ca`. @throws SipError `SIP_AGENT_CONFIG_INVALID` */
export async function serverCa(file: string, io: CliIo): Promise<string> {
  const pem = await io.readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new SipError('SIP_AGENT_CONFIG_INVALID', `--server-ca ${file} cannot be read (${err.code ?? 'error'})`, { expose: true });
  });
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new SipError('SIP_AGENT_CONFIG_INVALID', `--server-ca ${file} holds no PEM certificate`, { expose: true });
  return pem;
}

/** `sip agent`: the credential agent of one Mesos agent, until SIGTERM. */
export async function agentCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      listen: { type: 'string', default: '127.0.0.1:51679' },
      'metrics-listen': { type: 'string' },
      'marathon-url': { type: 'string' },
      'mesos-agent-url': { type: 'string' },
      'secrets-url': { type: 'string' },
      policy: { type: 'string' },
      server: { type: 'string', multiple: true, default: [] },
      'server-ca': { type: 'string' },
      'server-audience': { type: 'string', default: 'sip-server' },
      'ca-file': { type: 'string' },
      'insecure-http': { type: 'boolean', default: false },
      'upstream-uid': { type: 'string', multiple: true, default: [] },
      'token-file': { type: 'string' },
      'service-account': { type: 'string' },
      'service-account-key': { type: 'string' },
      'cluster-url': { type: 'string' },
      'http-credentials': { type: 'string' },
      'cgroups-root': { type: 'string', default: 'mesos' },
      'cgroup-hierarchies': { type: 'string' },
      'docker-socket': { type: 'string' },
      'task-token-key-file': { type: 'string' },
      'require-task-token': { type: 'boolean', default: false },
      'block-metadata': { type: 'boolean', default: false },
      'task-uids': { type: 'string', multiple: true, default: [] },
      'net-cls-handle': { type: 'string' },
      'nft-table': { type: 'string', default: 'sip_agent' },
      'metadata-address': { type: 'string', multiple: true, default: [] },
      duration: { type: 'string', default: '3600' },
      'max-sts-calls': { type: 'string', default: '10' },
      'ready-file': { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  if ([Boolean(values['secrets-url']), Boolean(values.policy), values.server.length > 0].filter(Boolean).length !== 1)
    throw new UsageError('give exactly one of --secrets-url (roles from AWS config secrets), --policy FILE or --server URL (sip server decides)');
  if (values.server.length > 0 && !values['server-ca']) throw new UsageError("--server goes with --server-ca FILE (the servers' CA)");
  for (const u of values.server) if (!/^https:\/\/[^/]+$/.test(u)) throw new UsageError(`--server ${u}: expected https://host:port`);
  const marathonUrl = values['marathon-url'] ?? io.env.SIP_MARATHON_URL;
  if (!marathonUrl)
    throw new UsageError('--marathon-url URL is required (Marathon runs on the masters, not on this agent): e.g. https://leader.mesos:8443 on DC/OS');
  const duration = Number(values.duration);
  if (!Number.isInteger(duration) || duration < 900 || duration > 43200) throw new UsageError('--duration must be 900-43200 seconds');
  const perSecond = Number(values['max-sts-calls']);
  if (!(perSecond >= 1)) throw new UsageError('--max-sts-calls must be at least 1');
  const allowedUids = values['upstream-uid'].map((u) => {
    if (!/^\d+$/.test(u)) throw new UsageError('--upstream-uid must be a numeric uid');
    return Number(u);
  });
  if (values['task-token-key-file'] && !values['require-task-token']) throw new UsageError('--task-token-key-file goes with --require-task-token');
  const taskTokenKey = values['require-task-token'] ? await tokenKeyOf(values['task-token-key-file'], io) : undefined;
  if (values['ca-file']) await trustCaFile(values['ca-file'], io);
  const agentIp = io.env.LIBPROCESS_IP && io.env.LIBPROCESS_IP !== '0.0.0.0' ? io.env.LIBPROCESS_IP : '127.0.0.1';
  const config: AgentConfig = {
    listen: hostPort(values.listen, '--listen'),
    ...(values['metrics-listen'] ? { metrics: listenAt(values['metrics-listen'], '--metrics-listen') } : {}),
    marathonUrl,
    mesosAgentUrl: values['mesos-agent-url'] ?? `http://${agentIp}:5051`,
    roles: values.policy
      ? { kind: 'policy', policy: await readPolicy(values.policy, io.readFile) }
      : values.server.length > 0
        ? { kind: 'server', urls: values.server, caPem: await serverCa(values['server-ca']!, io), audience: values['server-audience'] }
        : { kind: 'secrets', secretsUrl: values['secrets-url']! },
    trust: { insecureHttp: values['insecure-http'], allowedUids },
    cgroupsRoot: values['cgroups-root'],
    ...(values['cgroup-hierarchies'] !== undefined ? { cgroupHierarchies: hierarchies(values['cgroup-hierarchies']) } : {}),
    ...(values['docker-socket'] ? { dockerSocket: values['docker-socket'] } : {}),
    ...(taskTokenKey ? { taskTokenKey } : {}),
    durationSeconds: duration,
    maxStsCallsPerSecond: perSecond,
  };
  if (values['block-metadata']) config.blockMetadata = metadataBlockOf(values);
  else if (values['task-uids'].length > 0 || values['net-cls-handle'] !== undefined || values['metadata-address'].length > 0)
    throw new UsageError('--task-uids, --net-cls-handle and --metadata-address go with --block-metadata');
  const auth = await authOf(values, io, marathonUrl);
  if (auth) config.auth = auth;

  const logger = createLogger({ name: 'sip-agent', destination: process.stdout });
  if (values['insecure-http']) logger.warn('--insecure-http: the agent may send its credential in clear to upstreams off this host');
  // Started by a supervisor with an IPC channel (the local cluster): its denials, as the library reports them.
  const send = process.send?.bind(process);
  const agent = await startAgent(config, logger, send ? { onDenied: (denial) => void send({ type: 'sip-agent.denied', denial }) } : {});
  send?.({ type: 'sip-agent.ready', url: agent.url, metricsUrl: agent.metricsUrl ?? '' });
  if (values['ready-file']) await writeFile(values['ready-file'], `${agent.url}\n${agent.metricsUrl ?? ''}\n`, { mode: 0o600 });
  logger.info(
    {
      url: agent.url,
      metrics: agent.metricsUrl,
      marathon: config.marathonUrl,
      mesosAgent: config.mesosAgentUrl,
      auth: auth?.describe ?? 'none',
      cgroupsRoot: config.cgroupsRoot,
      roles: config.roles.kind,
    },
    'sip agent serving',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await agent.stop();
  return ExitCode.ok;
}
