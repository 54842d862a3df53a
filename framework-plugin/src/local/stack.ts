import { randomBytes } from 'node:crypto';
import { APP_UIDS, FIRST_APP_UID } from './launcher/identity.js';
import { constants, existsSync } from 'node:fs';
import { access, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Isolation } from './launcher/isolation.js';
import { clusterLabel, forgetProcesses, reapLeftovers, recordProcesses } from './crashRecovery.js';
import { isolateTasks, lockStateDir } from './taskIsolation.js';
import {
  CreateRoleCommand,
  DeleteRolePolicyCommand,
  GetRoleCommand,
  IAMClient,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import type { Logger } from 'pino';
import type { Emulator } from './emulator/startEmulator.js';
import { openEmulator } from './emulator/openEmulator.js';
import { isSipError, SipError } from '../core/errors/SipError.js';
import { startEdgeLb } from './edgelb/controller.js';
import { EDGELB_BASE_PATH, startEdgeLbApi } from './edgelb-api/server.js';
import { startMarathonServer, type MarathonServer } from './marathon-api/server.js';
import { freePort } from '../net/freePort.js';
import { startSecretsServer, type SecretsServer } from './secrets-api/server.js';
import { createLocalStore } from '../stores/localStore.js';
import { createLocalCluster, type LocalCluster } from './scheduler/localCluster.js';
import { serviceAccountKey } from './credentialAgent.js';
import { MAX_LOCAL_AGENTS, planAgents, removeAgentCgroups, startAgentNodes, type AgentNode } from './agentNodes.js';
import { planServers, startCredentialServers, withoutAws } from './credentialServers.js';
import { startMesosMasterApi } from './mesos-master-api/server.js';
import { agentInstances, type AgentInstances } from './emulator/agentInstances.js';
import { startIamApi } from './iam-api/server.js';
import { createTokenIssuer } from './iam-api/tokenIssuer.js';
import { acsAuthenticator } from '../net/httpAuthenticator.js';
import type { CredentialMode } from '../core/marathon/credentialMode.js';

/** User options of {@link runLocalCluster}. */
export interface RunLocalClusterInit {
  stateDir: string;
  logger: Logger;
  /** Base environment of tasks (the agent's), e.g. PATH. Endpoints are added. */
  agentEnv: Record<string, string>;
  python?: string;
  marathonPort?: number;
  secretsPort?: number;
  /** EdgeLB's HTTP port (the local "public agent load balancer"). Default 10080. */
  lbPort?: number;
  /**
   * Run apps with secrets even where tasks cannot be isolated from each
   * other (not root, or the checkout unreachable for other users): every
   * task then shares one identity and could read the others' secrets.
   */
  insecureSharedIdentity?: boolean;
  /** How apps without the `sip.aws.credentials` label get AWS credentials. Default `file`. */
  awsCredentials?: CredentialMode;
  /** Lifetime of the tokens service accounts log in for, seconds. Default five days (open DC/OS). */
  tokenLifetimeSeconds?: number;
  /** How many agents (1 to 9, agent N on 127.0.0.N). Default 1. */
  agents?: number;
  /** Mesos attributes per agent number (1-based), for constraints. */
  agentAttributes?: Readonly<Record<number, Readonly<Record<string, string>>>>;
  /**
   * sip server replicas (0 to 3, replica N on 127.0.0.20N as on a master).
   * With any, they alone read AWS configs and hold the role app roles may
   * trust (`sip-local-server`); every sip agent asks them and reads no
   * secret. Default 0: each sip agent decides.
   */
  servers?: number;
}

/** One agent of a running local cluster. */
export interface LocalAgentInfo {
  /** 1-based: `sip cluster agent kill N`. */
  n: number;
  id: string;
  hostname: string;
  /** Its EC2 instance id (its instance profile's session name) and metadata endpoint. */
  instanceId: string;
  imdsEndpoint: string;
  attributes: Record<string, string>;
  mesosAgentUrl: string;
  credentialsUrl: string;
  cgroupsRoot: string;
}

/** What a running local cluster offers (also written to `<state>/cluster.json`). */
export interface LocalClusterInfo {
  pid: number;
  startedAt: string;
  marathonUrl: string;
  secretsUrl: string;
  awsEndpoint: string;
  imdsEndpoint: string;
  agentRoleArn: string;
  ec2ServiceArn: string;
  region: string;
  /** Which emulator (`SIP_EMULATOR`) and whether it enforces IAM. */
  emulator: string;
  enforcesIam: boolean;
  /** EdgeLB (HAProxy) for apps labelled `edgelb.expose=true`. */
  edgelbUrl: string;
  /** HAProxy's stats frontend (`/_haproxy_health_check`, `/haproxy?stats`). */
  edgelbStatsUrl: string;
  /** Edge-LB's Pool API (ACS token required), as Admin Router serves it: `…/service/edgelb`. */
  edgelbApiUrl: string;
  /** Whether tasks run under their own users, and if not why. */
  isolation: Isolation;
  /** PATH entries tasks cannot enter (left out of their PATH). */
  unreachableForTasks: string[];
  /** The Mesos agent operator API subset (`POST /api/v1` GET_CONTAINERS; ACS token). */
  mesosAgentUrl: string;
  /** DC/OS IAM's stand-in: service-account logins (`/acs/api/v1/auth/login`). */
  iamUrl: string;
  /** How long a login's token lasts, seconds. */
  tokenLifetimeSeconds: number;
  /** `sip agent`: where endpoint-mode tasks get credentials, its metrics, and the default mode. */
  credentials: { url: string; metricsUrl: string; defaultMode: CredentialMode };
  /** Per-task cgroups (`/<root>/<containerId>` under memory and pids), or why not. */
  cgroups: { available: true; root: string } | { available: false; reason: string };
  /** The Mesos master operator API subset (`GET_AGENTS`, `GET_TASKS`, `MARK_AGENT_GONE`; ACS token). */
  mesosMasterUrl: string;
  /** Every agent (the fields above without a number are agent 1's). */
  agents: LocalAgentInfo[];
  /** sip server replicas (none: each sip agent decides), their CA, and their role (what app roles trust with servers). */
  servers: Array<{ n: number; url: string; imdsEndpoint: string }>;
  serverCaFile?: string;
  serverRoleArn?: string;
}

/** A running local cluster. */
export interface RunningLocalCluster {
  readonly info: LocalClusterInfo;
  readonly cluster: LocalCluster;
  stop(): Promise<void>;
}

const AGENT_ROLE = 'sip-local-agent';
/** The masters' instance profile, for sip server: the role app roles trust when servers decide. */
const SERVER_ROLE = 'sip-local-server';
/** sip server reads an agent's private IP from EC2 (node proof → instance → address → agent). */
const SERVER_DESCRIBES_INSTANCES = { Effect: 'Allow', Action: 'ec2:DescribeInstances', Resource: '*' } as const;

/**
 * What an agent adds to every task's environment so the AWS SDK's default
 * chain finds the emulator and the agent's metadata endpoint (on AWS the
 * metadata endpoint is implicit and no endpoint is set), and nothing else:
 * no shared credentials file, no keys.
 */
export function awsAgentEnv(endpoints: { awsEndpoint: string; imdsEndpoint: string }): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoints.awsEndpoint,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: endpoints.imdsEndpoint,
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** Reads the ACS token of the state dir, creating it (0600) on first use. */
async function acsToken(stateDir: string): Promise<string> {
  const file = join(stateDir, 'acs-token');
  try {
    const fh = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    await fh.writeFile(randomBytes(24).toString('base64url'));
    await fh.close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return (await readFile(file, 'utf8')).trim();
}

/**
 * An instance profile role (the agents', or with sip server the masters'),
 * as a real cluster's nodes already have: may only assume app roles. Which
 * of the two an app role trusts decides who may assume it.
 */
async function ensureInstanceRole(em: Emulator, name: string, extra: ReadonlyArray<Record<string, unknown>> = [], assumesAppRoles = true): Promise<string> {
  const iam = new IAMClient({ endpoint: em.endpoint, region: em.region, credentials: em.admin.credentials });
  try {
    // Trusted by this start's EC2 stand-in: with an emulator outside the cluster (AWS), each start has its own, and a
    // role made by an earlier start (a daemon killed and started again) must trust the new one, as EC2 always is.
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com', AWS: em.ec2Service.arn }, Action: 'sts:AssumeRole' }],
    });
    const existing = await iam.send(new GetRoleCommand({ RoleName: name })).then(
      (r) => r.Role?.Arn,
      () => undefined,
    );
    if (existing) await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: trust }));
    const arn = existing ?? (await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust }))).Role?.Arn ?? '';
    // AssumeRole, and for sip agent the session tags and source identity it sets (the app role's trust must allow them too).
    const statements = [
      ...(assumesAppRoles
        ? [{ Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'], Resource: `arn:aws:iam::${em.accountId}:role/sip-apps/*` }]
        : []),
      ...extra,
    ];
    // Set on every start: a cluster started again with or without servers changes what its roles may do.
    if (statements.length > 0)
      await iam.send(
        new PutRolePolicyCommand({
          RoleName: name,
          PolicyName: 'assume-app-roles-only',
          PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
        }),
      );
    else await iam.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: 'assume-app-roles-only' })).catch(() => undefined);
    return arn;
  } finally {
    iam.destroy();
  }
}

/**
 * Starts every part of the local cluster in this process: the AWS emulator
 * with the agents' instance profile and metadata endpoint, the secrets API
 * over the local store, the scheduler and its Marathon API. Writes
 * `<state>/cluster.json`; `stop()` takes it all down again.
 * @throws SipError naming the part that failed and how to fix it.
 */
export async function runLocalCluster(init: RunLocalClusterInit): Promise<RunningLocalCluster> {
  const { stateDir, logger } = init;
  try {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await access(stateDir, constants.W_OK);
  } catch (err) {
    throw new SipError(
      'SIP_STATE_DIR_INVALID',
      `state dir ${stateDir} is not a writable directory (${(err as NodeJS.ErrnoException).code ?? 'error'}); pass --state-dir DIR`,
      {
        expose: true,
      },
    );
  }
  // A daemon killed with kill -9 left tasks, HAProxy, the emulator and secret files: clear them first.
  await reapLeftovers(stateDir, logger);
  const cleanups: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c().catch((err: Error) => logger.error({ err: { message: err.message } }, 'stop failed'));
    await rm(join(stateDir, 'cluster.json'), { force: true });
    await forgetProcesses(stateDir);
  };
  try {
    const emulator = await openEmulator({ logger, ...(init.python ? { python: init.python } : {}) });
    cleanups.push(() => emulator.stop());
    const serverCount = init.servers ?? 0;
    // With sip server, tasks get credentials only from the endpoint (file mode would need the agents' role to assume app roles).
    if (serverCount > 0 && init.awsCredentials !== 'endpoint')
      throw new SipError(
        'SIP_USAGE',
        '--servers goes with --aws-credentials endpoint: with sip server the agents may not assume app roles, so no task can use file mode',
        {
          expose: true,
        },
      );
    // The agents' role may assume app roles only where they decide; with servers it holds no policy at all.
    const agentRoleArn = await ensureInstanceRole(emulator, AGENT_ROLE, [], serverCount === 0);
    const serverRoleArn = serverCount > 0 ? await ensureInstanceRole(emulator, SERVER_ROLE, [SERVER_DESCRIBES_INSTANCES]) : undefined;
    await writeFile(
      join(stateDir, 'aws-admin.json'),
      JSON.stringify({
        endpoint: emulator.endpoint,
        region: emulator.region,
        ...emulator.admin.credentials,
        ec2ServiceArn: emulator.ec2Service.arn,
        agentRoleArn,
        ...(serverRoleArn ? { serverRoleArn } : {}),
      }),
      { mode: 0o600 },
    );

    const store = createLocalStore({ dir: join(stateDir, 'secrets') });
    const token = await acsToken(stateDir);
    // DC/OS IAM for service accounts: sip agent logs in as one, with tokens that expire (five days as on open DC/OS, unless told).
    const issuer = createTokenIssuer({ key: randomBytes(32), lifetimeSeconds: init.tokenLifetimeSeconds ?? 432_000 });
    const agentAccount = await serviceAccountKey(stateDir, 'sip-agent');
    // With sip server, its account is the only one that reads AWS configs (secret values); sip agent's may not.
    const serverAccount = serverCount > 0 ? await serviceAccountKey(stateDir, 'sip-server') : undefined;
    const accounts = new Map([[agentAccount.uid, agentAccount.publicKey], ...(serverAccount ? [[serverAccount.uid, serverAccount.publicKey] as const] : [])]);
    const iam = await startIamApi({ accounts, issuer, token, logger });
    cleanups.push(() => iam.stop());
    const issued = issuer.verify;
    const secrets: SecretsServer = await listen('secrets API', init.secretsPort, (port) =>
      startSecretsServer({
        store,
        token,
        issued,
        logger,
        // Only the servers' account (and the cluster's own token) touches secret values: an allowlist.
        ...(serverAccount ? { mayAccess: (principal) => principal === serverAccount.uid || principal === 'bootstrapuser' } : {}),
        ...(port ? { port } : {}),
      }),
    );
    cleanups.push(() => secrets.stop());

    const { isolation, agentEnv, dropped } = await isolateTasks({ stateDir, agentEnv: init.agentEnv, insecure: init.insecureSharedIdentity === true, logger });
    // Each agent's tasks in cgroups named as Mesos names them (its own root), so its sip agent finds callers as on a real agent.
    const defaultMode = init.awsCredentials ?? 'file';
    // Endpoint mode closes the metadata stand-in to tasks (their uids), as --block-metadata closes 169.254.169.254 on a node.
    const metadataClosed = defaultMode === 'endpoint' && isolation.enabled;
    // DOCKER tasks in endpoint mode: sip agent resolves their containers through the engine (read-only).
    const dockerSocket = existsSync(DOCKER_SOCKET) ? DOCKER_SOCKET : undefined;
    const count = init.agents ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > MAX_LOCAL_AGENTS)
      throw new SipError('SIP_USAGE', `--agents must be 1 to ${MAX_LOCAL_AGENTS} (agent N listens on 127.0.0.N)`, { expose: true });
    let instances: AgentInstances | undefined;
    const planned = await planAgents({
      count,
      ...(init.agentAttributes ? { attributes: init.agentAttributes } : {}),
      label: clusterLabel(stateDir),
      defaultMode,
      metadataClosed,
      docker: dockerSocket !== undefined,
      // Each agent its own EC2 instance (private IP its address): its id, and its instance profile's sessions named after it.
      startInstance: async (privateIp) => {
        const instanceId = await (instances ??= await agentInstances(emulator)).launch(privateIp);
        return { instanceId, imds: await emulator.startInstanceMetadata({ agentRoleArn, instanceId }) };
      },
    });
    const imds = planned[0]!.imds;
    cleanups.push(async () => removeAgentCgroups(planned));
    const awsEnv = awsAgentEnv({ awsEndpoint: emulator.endpoint, imdsEndpoint: imds.endpoint });
    const cluster = createLocalCluster({
      stateDir,
      store,
      logger,
      isolation,
      clusterLabel: clusterLabel(stateDir),
      agentEnv: { ...agentEnv, ...awsEnv },
      agents: planned.map((p) => p.spec),
      delivery: planned[0]!.spec.delivery!,
    });
    await cluster.start();
    cleanups.push(() => cluster.stop());
    const lbPort = init.lbPort ?? 10080;
    const statsPort = await freePort();
    const edgelb = await listen('EdgeLB', lbPort, () =>
      startEdgeLb({ source: cluster, workDir: join(stateDir, 'edgelb'), httpPort: lbPort, statsPort, logger }),
    ).catch((err: unknown) => {
      // The default port is the one two clusters (the demo's and another) both reach for.
      if (init.lbPort === undefined && isSipError(err, 'SIP_PORT_IN_USE')) {
        throw new SipError(
          'SIP_PORT_IN_USE',
          `${err.message} (${lbPort} is EdgeLB's default port: another local cluster, such as npm run demo's, may hold it; start with --lb-port PORT or SIP_LB_PORT=PORT)`,
          { expose: true },
        );
      }
      throw err;
    });
    cleanups.push(() => edgelb.stop());
    const edgelbApi = await startEdgeLbApi({ edgelb, token, logger });
    cleanups.push(() => edgelbApi.stop());
    const marathon: MarathonServer = await listen('Marathon API', init.marathonPort, (port) =>
      startMarathonServer({ cluster, token, issued, logger, ...(port ? { port } : {}) }),
    );
    cleanups.push(() => marathon.stop());
    const authenticator = acsAuthenticator(token, issued);
    // The masters' view: which agent runs which task; an agent marked gone dies with its tasks.
    let nodes: AgentNode[] = [];
    const master = await startMesosMasterApi({
      source: {
        frameworkId: cluster.frameworkId,
        agents: () =>
          cluster.agents().map((a) => ({
            ...a,
            port: nodes.find((x) => x.id === a.id)?.mesosAgentPort ?? 5051,
            resources: { ...cluster.configuration().resources, ports: cluster.configuration().hostPorts },
          })),
        tasks: () => cluster.tasks().filter((t) => t.state === 'TASK_RUNNING' || t.state === 'TASK_STAGING' || t.state === 'TASK_KILLING'),
        markGone: async (id) => {
          await nodes.find((x) => x.id === id)?.stop();
          await cluster.removeAgent(id, 'agent marked gone (MARK_AGENT_GONE)');
        },
      },
      authenticator,
      logger,
    });
    cleanups.push(() => master.stop());
    // sip server replicas (on the masters' addresses): planned first, so every sip agent is told where they are.
    const serverPlan = serverCount > 0 ? await planServers(stateDir, serverCount) : undefined;
    const taskUids = { min: FIRST_APP_UID, max: FIRST_APP_UID + APP_UIDS - 1 };
    nodes = await startAgentNodes(planned, {
      cluster,
      authenticator,
      logger,
      events: cluster.events,
      shared: {
        stateDir,
        logger,
        marathonUrl: marathon.url,
        ...(serverPlan
          ? { server: { urls: serverPlan.replicas.map((r) => r.url), caFile: serverPlan.caFile, audience: serverPlan.audience } }
          : { secretsUrl: secrets.url }),
        serviceAccount: { uid: agentAccount.uid, keyFile: agentAccount.keyFile, clusterUrl: iam.url },
        ...(dockerSocket ? { dockerSocket } : {}),
        // Never the daemon's own AWS keys (an external emulator's admin keys): sip agent's identity is its node's instance profile.
        env: { ...withoutAws(process.env), ...awsEnv, AWS_REGION: emulator.region, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        events: cluster.events,
        ...(metadataClosed ? { blockMetadata: { uids: taskUids, table: `sip_${clusterLabel(stateDir)}` } } : {}),
      },
    });
    cleanups.push(async () => void (await Promise.all(nodes.map((n) => n.stop()))));
    const servers =
      serverPlan && serverAccount && serverRoleArn
        ? await startCredentialServers(serverPlan, {
            stateDir,
            logger,
            agentRole: AGENT_ROLE,
            mesosMasterUrl: master.url,
            marathonUrl: marathon.url,
            secretsUrl: secrets.url,
            serviceAccount: { uid: serverAccount.uid, keyFile: serverAccount.keyFile, clusterUrl: iam.url },
            awsEnv: { AWS_ENDPOINT_URL: emulator.endpoint, AWS_REGION: emulator.region, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
            // Each replica's master its own EC2 instance and instance profile (the server role), which no task may reach.
            masterMetadata: async (_n, host) => {
              const instanceId = await (instances ??= await agentInstances(emulator)).launch(host, 'master');
              return emulator.startInstanceMetadata({ agentRoleArn: serverRoleArn, instanceId });
            },
            closeMetadata: isolation.enabled ? { uids: taskUids, table: `sip_${clusterLabel(stateDir)}_m` } : undefined,
          })
        : undefined;
    if (servers) cleanups.push(() => servers.stop());
    const first = nodes[0]!;

    const info: LocalClusterInfo = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      marathonUrl: marathon.url,
      secretsUrl: secrets.url,
      awsEndpoint: emulator.endpoint,
      imdsEndpoint: imds.endpoint,
      agentRoleArn,
      ec2ServiceArn: emulator.ec2Service.arn,
      region: emulator.region,
      emulator: emulator.description,
      enforcesIam: emulator.enforcesIam,
      edgelbUrl: `http://127.0.0.1:${lbPort}`,
      edgelbStatsUrl: `http://127.0.0.1:${statsPort}`,
      edgelbApiUrl: `${edgelbApi.url}${EDGELB_BASE_PATH}`,
      isolation,
      unreachableForTasks: dropped,
      mesosAgentUrl: first.mesosAgentUrl,
      iamUrl: iam.url,
      tokenLifetimeSeconds: init.tokenLifetimeSeconds ?? 432_000,
      credentials: { url: first.credentials.url, metricsUrl: first.credentials.metricsUrl, defaultMode },
      cgroups: planned[0]!.cgroups.available ? { available: true, root: planned[0]!.cgroupsRoot } : { available: false, reason: planned[0]!.cgroups.reason },
      mesosMasterUrl: master.url,
      servers: (servers?.replicas ?? []).map((x) => ({ n: x.n, url: x.url, imdsEndpoint: x.imdsEndpoint })),
      ...(serverPlan ? { serverCaFile: serverPlan.caFile, serverRoleArn: serverRoleArn! } : {}),
      agents: nodes.map((n) => ({
        n: n.n,
        id: n.id,
        hostname: n.hostname,
        instanceId: n.instanceId,
        imdsEndpoint: n.imdsEndpoint,
        attributes: { ...planned[n.n - 1]!.spec.attributes },
        mesosAgentUrl: n.mesosAgentUrl,
        credentialsUrl: n.credentials.url,
        cgroupsRoot: n.cgroupsRoot,
      })),
    };
    // What runs now, kept current, so a kill -9 of this daemon leaves nothing the next start cannot find.
    let recording: Promise<void> = Promise.resolve();
    const record = (): void => {
      const haproxyPid = edgelb.status().haproxyPid;
      const processes = [
        ...cluster.processes().map((p) => ({ what: `task ${p.taskId}`, pid: p.pid, group: true })),
        ...(haproxyPid ? [{ what: 'haproxy', pid: haproxyPid, group: true }] : []),
        ...(emulator.pid ? [{ what: 'aws emulator', pid: emulator.pid, group: true }] : []),
        ...nodes.map((n) => ({ what: `sip agent ${n.n}`, pid: n.pid, group: true })),
        ...(servers?.replicas ?? []).map((x) => ({ what: `sip server ${x.n}`, pid: x.pid, group: true })),
      ];
      recording = recording
        .then(() => recordProcesses(stateDir, processes))
        .catch((err: Error) => logger.error({ err: { message: err.message } }, 'recording processes failed'));
    };
    record();
    const unsubscribe = cluster.events.subscribe((e) => {
      if (e.eventType === 'status_update_event') record();
    });
    const tick = setInterval(record, 2000);
    cleanups.push(async () => {
      clearInterval(tick);
      unsubscribe();
      await recording;
    });
    await writeFile(join(stateDir, 'cluster.json'), JSON.stringify(info, null, 2), { mode: 0o600 });
    await lockStateDir(stateDir); // what the parts created while starting is closed too
    return { info, cluster, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Where the Docker engine answers (the Docker containerizer's). */
const DOCKER_SOCKET = '/var/run/docker.sock';

async function listen<T>(what: string, port: number | undefined, start: (port: number | undefined) => Promise<T>): Promise<T> {
  try {
    return await start(port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new SipError('SIP_PORT_IN_USE', `port ${port} for the ${what} is in use; choose another or omit it for a free one`, { expose: true });
    }
    throw err;
  }
}
