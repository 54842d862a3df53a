import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isSipErrorCode } from '../core/errors/catalogue.js';
import { SipError } from '../core/errors/SipError.js';
import { processAlive } from '../local/crashRecovery.js';
import { createLogger } from '../log/logger.js';
import { fdDestination } from '../log/fdDestination.js';
import { waitFor } from '../net/waitFor.js';
import { readClusterInfo, stateDirOf, type ClusterInfo } from './clusterState.js';
import { ExitCode, UsageError, type CliIo } from './io.js';

/** Usage of `sip cluster`. */
export const CLUSTER_USAGE = `usage: sip cluster <up|down|status|env|agent> [options]

  up       start the local cluster in the background (Marathon API, secrets API, AWS emulator + metadata endpoint)
  down     stop it (apps are kept and come back with the next 'up')
  status   show each part's health
  env      print shell exports pointing the AWS CLI, SDKs and Terraform at the cluster's emulator
           with its admin credentials: eval "$(sip cluster env)"; --unset prints the unsets
  agent list
           the agents: number, Mesos id, address, attributes
  agent kill N
           agent N dies: its sip agent and operator API stop, the master marks it gone
           (MARK_AGENT_GONE), its tasks are lost and Marathon replaces them on the others

options:
  --state-dir DIR        where apps, secrets, sandboxes and logs live (default: $SIP_STATE_DIR, else .state)
  --marathon-port PORT   Marathon API port (default: a free one)
  --secrets-port PORT    secrets API port (default: a free one)
  --lb-port PORT         EdgeLB (HAProxy) HTTP port, the local public agent LB (default: $SIP_LB_PORT,
                         else 10080; taken by another cluster, e.g. npm run demo's: choose another)
  --insecure-shared-identity
                         run apps with secrets even where tasks cannot get their own users
                         (not root, or the checkout unreachable for others): any task could read
                         any other's secrets ($SIP_INSECURE_SHARED_IDENTITY=1 does the same)
  --agents N             how many agents (1-9, agent N on 127.0.0.N, each with its own cgroup root,
                         operator API and sip agent) ($SIP_AGENTS does the same; default 1)
  --agent-attribute N:NAME=VALUE
                         a Mesos attribute of agent N, for constraints (repeat it)
  --servers N            sip server replicas (0-3, replica N on 127.0.0.20N as on a master), with
                         --aws-credentials endpoint: they alone read AWS configs and hold the role app
                         roles trust (sip-local-server); every sip agent asks them ($SIP_SERVERS does
                         the same; default 0: each sip agent decides)
  --aws-credentials MODE how apps without the sip.aws.credentials label get AWS credentials:
                         file (their aws-config in the sandbox, the default) or endpoint (sip agent;
                         the external id never enters the task) ($SIP_AWS_CREDENTIALS does the same)
  (env) SIP_TOKEN_LIFETIME_SECONDS
                         lifetime of the tokens service accounts (sip agent's) log in for
                         (default 432000, five days as on open DC/OS)
  --json                 machine-readable output`;

const SIP = fileURLToPath(new URL('../../bin/sip.mjs', import.meta.url));
const BIN_PATH = fileURLToPath(new URL('../../../node_modules/.bin', import.meta.url));

async function health(info: ClusterInfo, token: string): Promise<Record<string, string>> {
  const check = async (fn: () => Promise<Response>, answers = (res: Response): boolean => res.ok): Promise<string> => {
    try {
      const res = await fn();
      await res.body?.cancel();
      return answers(res) ? 'healthy' : `unhealthy (HTTP ${res.status})`;
    } catch {
      return 'unreachable';
    }
  };
  const t = AbortSignal.timeout.bind(AbortSignal);
  return {
    daemon: processAlive(info.pid) ? `running (pid ${info.pid})` : 'not running',
    marathon: await check(() => fetch(`${info.marathonUrl}/ping`, { signal: t(3000) })),
    secrets: await check(() =>
      fetch(`${info.secretsUrl}/secrets/v1/secret/default/?list=true`, { headers: { authorization: `token=${token}` }, signal: t(3000) }),
    ),
    // The emulator's admin API is locked (403) to all but the cluster daemon: any answer below 500 means it serves.
    'aws-emulator': await check(
      () => fetch(`${info.awsEndpoint}/moto-api/data.json`, { signal: t(3000) }),
      (res) => res.status < 500,
    ),
    edgelb: await check(() => fetch(`${info.edgelbStatsUrl}/_haproxy_health_check`, { signal: t(3000) })),
    // Serving, but is it serving the current config? A refused config or failed reload shows here.
    'edgelb config': await (async () => {
      try {
        const res = await fetch(`${info.edgelbApiUrl}/local/health`, { headers: { authorization: `token=${token}` }, signal: t(3000) });
        const body = (await res.json()) as { current?: boolean; lastFailure?: { at: string; message: string } };
        return body.current ? 'healthy' : `stale since ${body.lastFailure?.at}: ${body.lastFailure?.message}`;
      } catch {
        return 'unreachable';
      }
    })(),
    'instance-metadata': await check(() =>
      fetch(`${info.imdsEndpoint}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' }, signal: t(3000) }),
    ),
  };
}

/** How tasks are kept apart, in one line. */
function isolationLine(info: ClusterInfo): string {
  const iso = info.isolation;
  if (!iso) return 'unknown (cluster started by an older sip)';
  if (iso.enabled)
    return `on: one user per app, sandboxes 0700, state dir closed${info.unreachableForTasks?.length ? `; not on tasks' PATH (others cannot enter): ${info.unreachableForTasks.join(', ')}` : ''}`;
  return `OFF: ${iso.reason}; ${iso.insecure ? "apps with secrets run anyway (--insecure-shared-identity): tasks can read each other's secrets" : 'apps with secrets are refused (start with --insecure-shared-identity to accept tasks sharing one identity)'}`;
}

function printInfo(info: ClusterInfo, io: CliIo): void {
  io.stdout.write(
    [
      `marathon           ${info.marathonUrl}`,
      `secrets API        ${info.secretsUrl}`,
      `aws emulator       ${info.awsEndpoint}`,
      `instance metadata  ${info.imdsEndpoint}  (agent role ${info.agentRoleArn})`,
      `edgelb             ${info.edgelbUrl}  (stats ${info.edgelbStatsUrl}/haproxy?stats)`,
      `isolation          ${isolationLine(info)}`,
      ...(info.credentials
        ? [
            `credential agent   ${info.credentials.url}/v1/credentials  (default mode ${info.credentials.defaultMode}; metrics ${info.credentials.metricsUrl.startsWith('unix:') ? `curl --unix-socket ${info.credentials.metricsUrl.slice(5)} http://localhost/metrics` : `${info.credentials.metricsUrl}/metrics`})`,
            ...(info.servers?.length
              ? [`sip server         ${info.servers.map((x) => x.url).join(' ')}  (server role ${info.serverRoleArn}; CA ${info.serverCaFile})`]
              : []),
            `task cgroups       ${info.cgroups.available ? `/${info.cgroups.root}/<container>` : `OFF: ${info.cgroups.reason} (endpoint mode is refused)`}`,
          ]
        : []),
      '',
    ].join('\n'),
  );
}

/** `sip cluster up|down|status` (and the internal `run`, the daemon itself). */
export async function clusterCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      'state-dir': { type: 'string' },
      'marathon-port': { type: 'string' },
      'secrets-port': { type: 'string' },
      'lb-port': { type: 'string' },
      'insecure-shared-identity': { type: 'boolean', default: false },
      'aws-credentials': { type: 'string' },
      agents: { type: 'string' },
      servers: { type: 'string' },
      'agent-attribute': { type: 'string', multiple: true },
      unset: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const [verb, ...extra] = positionals;
  if (extra.length && verb !== 'agent') throw new UsageError(`unexpected argument: ${extra[0]}`);
  const agentCount = values.agents ?? io.env.SIP_AGENTS;
  if (agentCount !== undefined && !/^[1-9]$/.test(agentCount)) throw new UsageError('--agents must be a number from 1 to 9');
  const serverCount = values.servers ?? io.env.SIP_SERVERS;
  if (serverCount !== undefined && !/^[0-3]$/.test(serverCount)) throw new UsageError('--servers must be a number from 0 to 3');
  const attributes = agentAttributes(values['agent-attribute'] ?? [], Number(agentCount ?? 1));
  const stateDir = stateDirOf(values['state-dir'], io.env);
  const port = (name: 'marathon-port' | 'secrets-port' | 'lb-port'): number | undefined => {
    const v = values[name] ?? (name === 'lb-port' ? io.env.SIP_LB_PORT || undefined : undefined);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535)
      throw new UsageError(`--${name}${name === 'lb-port' ? ' ($SIP_LB_PORT)' : ''} must be a port number`);
    return Number(v);
  };
  const mode = values['aws-credentials'] ?? io.env.SIP_AWS_CREDENTIALS;
  if (mode !== undefined && mode !== 'file' && mode !== 'endpoint') throw new UsageError('--aws-credentials must be file or endpoint');
  const lifetime = io.env.SIP_TOKEN_LIFETIME_SECONDS;
  if (lifetime !== undefined && !/^[1-9]\d{0,6}$/.test(lifetime)) throw new UsageError('$SIP_TOKEN_LIFETIME_SECONDS must be a number of seconds');
  const tokenLifetime = lifetime === undefined ? undefined : Number(lifetime);
  const info = await readClusterInfo(stateDir);
  const running = info && processAlive(info.pid) ? info : undefined;

  switch (verb) {
    case 'run': {
      // The log is a file on the state disk: a full disk drops lines (counted), never the daemon (Node's own
      // streams raise a failed write as an uncaught error: anything else written there, a warning, is dropped too).
      for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
      const logger = createLogger({ name: 'sip-cluster', destination: fdDestination(1) as unknown as NodeJS.WritableStream });
      const marathonPort = port('marathon-port');
      const secretsPort = port('secrets-port');
      const lbPort = port('lb-port');
      // The whole stand-in loads only in the daemon.
      const { runLocalCluster } = await import('../local/stack.js');
      const handle = await runLocalCluster({
        stateDir,
        logger,
        agentEnv: { PATH: `${BIN_PATH}:${io.env.PATH ?? '/usr/bin:/bin'}`, HOME: io.env.HOME ?? '/tmp', LANG: io.env.LANG ?? 'C.UTF-8' },
        ...(io.env.SIP_PYTHON ? { python: io.env.SIP_PYTHON } : {}),
        ...(marathonPort ? { marathonPort } : {}),
        ...(secretsPort ? { secretsPort } : {}),
        ...(lbPort ? { lbPort } : {}),
        insecureSharedIdentity: values['insecure-shared-identity'] === true || io.env.SIP_INSECURE_SHARED_IDENTITY === '1',
        ...(mode ? { awsCredentials: mode } : {}),
        ...(tokenLifetime ? { tokenLifetimeSeconds: tokenLifetime } : {}),
        ...(agentCount ? { agents: Number(agentCount) } : {}),
        ...(serverCount ? { servers: Number(serverCount) } : {}),
        ...(Object.keys(attributes).length ? { agentAttributes: attributes } : {}),
      });
      logger.info({ ...handle.info }, 'local cluster up');
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      logger.info('stopping');
      await handle.stop();
      return ExitCode.ok;
    }
    case 'up': {
      if (running) {
        io.stdout.write(`local cluster already running (pid ${running.pid}, state ${stateDir})\n`);
        printInfo(running, io);
        return ExitCode.ok;
      }
      const lbPort = port('lb-port');
      await mkdir(stateDir, { recursive: true, mode: 0o700 }).catch(() => undefined);
      const logFile = join(stateDir, 'cluster.log');
      let out: number;
      try {
        out = openSync(logFile, 'a', 0o600);
      } catch (err) {
        throw new SipError('SIP_STATE_DIR_INVALID', `cannot write ${logFile} (${(err as NodeJS.ErrnoException).code}); pass --state-dir DIR`, { expose: true });
      }
      const args = [
        SIP,
        'cluster',
        'run',
        '--state-dir',
        stateDir,
        ...(values['marathon-port'] ? ['--marathon-port', values['marathon-port']] : []),
        ...(values['secrets-port'] ? ['--secrets-port', values['secrets-port']] : []),
        ...(lbPort ? ['--lb-port', String(lbPort)] : []),
        ...(values['insecure-shared-identity'] ? ['--insecure-shared-identity'] : []),
        ...(mode ? ['--aws-credentials', mode] : []),
        ...(agentCount ? ['--agents', agentCount] : []),
        ...(serverCount ? ['--servers', serverCount] : []),
        ...(values['agent-attribute'] ?? []).flatMap((a) => ['--agent-attribute', a]),
      ];
      const child = spawn(process.execPath, args, {
        detached: true,
        stdio: ['ignore', out, out],
        env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...io.env } as NodeJS.ProcessEnv,
      });
      closeSync(out);
      let exited: number | null | undefined;
      child.once('exit', (code) => (exited = code));
      child.unref();
      io.stdout.write(`starting the local cluster (state ${stateDir}, log ${logFile})…\n`);
      try {
        const up = await waitFor(
          async () => {
            const i = await readClusterInfo(stateDir);
            return i && i.pid === child.pid ? i : undefined;
          },
          {
            what: 'the local cluster',
            timeoutMs: 90_000,
            intervalMs: 200,
            abortIf: () => (exited !== undefined ? startFailure(logFile, exited) : undefined),
          },
        );
        printInfo(up, io);
        return ExitCode.ok;
      } catch (err) {
        if (exited === undefined) child.kill('SIGTERM');
        throw err;
      }
    }
    case 'down': {
      if (!running) {
        io.stdout.write(`no local cluster running (state ${stateDir})\n`);
        return ExitCode.ok;
      }
      process.kill(running.pid, 'SIGTERM');
      try {
        await waitFor(async () => !processAlive(running.pid), { what: `cluster pid ${running.pid} to stop`, timeoutMs: 60_000, intervalMs: 200 });
      } catch {
        process.kill(running.pid, 'SIGKILL');
      }
      io.stdout.write(`local cluster stopped (apps kept in ${stateDir})\n`);
      return ExitCode.ok;
    }
    case 'env': {
      // As docker-machine env / minikube docker-env: exports for eval, nothing else on stdout.
      const names = ['AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];
      if (values.unset) {
        io.stdout.write(`unset ${names.join(' ')}\n# Run this command to configure your shell:\n# eval "$(sip cluster env --unset)"\n`);
        return ExitCode.ok;
      }
      if (!running) throw new SipError('SIP_CLUSTER_START_FAILED', `no local cluster running (state ${stateDir}); start one with: sip cluster up`);
      let admin: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
      try {
        admin = JSON.parse(readFileSync(join(stateDir, 'aws-admin.json'), 'utf8')) as typeof admin;
      } catch {
        throw new SipError('SIP_STATE_INVALID', `cannot read the emulator's admin credentials in ${join(stateDir, 'aws-admin.json')}`);
      }
      const q = (v: string): string => `'${v.replace(/'/g, "'\\''")}'`;
      const lines = [
        `export AWS_ENDPOINT_URL=${q(admin.endpoint)}`,
        `export AWS_REGION=${q(admin.region)}`,
        `export AWS_DEFAULT_REGION=${q(admin.region)}`,
        `export AWS_ACCESS_KEY_ID=${q(admin.accessKeyId)}`,
        `export AWS_SECRET_ACCESS_KEY=${q(admin.secretAccessKey)}`,
        'unset AWS_SESSION_TOKEN AWS_PROFILE',
        '# Run this command to configure your shell (the local emulator, as its administrator):',
        '# eval "$(sip cluster env)"',
      ];
      io.stdout.write(`${lines.join('\n')}\n`);
      return ExitCode.ok;
    }
    case 'status': {
      if (!running) {
        if (values.json) io.stdout.write(`${JSON.stringify({ running: false, stateDir })}\n`);
        else io.stdout.write(`no local cluster running (state ${stateDir}); start one with: sip cluster up\n`);
        return ExitCode.failed;
      }
      let token = '';
      try {
        token = readFileSync(join(stateDir, 'acs-token'), 'utf8').trim();
      } catch {
        // status reports the secrets API as unhealthy then
      }
      const parts = await health(running, token);
      const ok = Object.entries(parts).every(([k, v]) => (k === 'daemon' ? v.startsWith('running') : v === 'healthy'));
      if (values.json) io.stdout.write(`${JSON.stringify({ running: true, healthy: ok, stateDir, ...running, parts })}\n`);
      else {
        for (const [k, v] of Object.entries(parts)) io.stdout.write(`${k.padEnd(18)} ${v}\n`);
        printInfo(running, io);
      }
      return ok ? ExitCode.ok : ExitCode.failed;
    }
    case 'agent':
      return agentVerb(extra, running, stateDir, values.json === true, io);
    default:
      throw new UsageError(verb ? `unknown command: cluster ${verb}` : 'missing command');
  }
}

/**
 * Why the daemon exited at start: the catalogue's error it printed last
 * (`sip: … (SIP_…)`), as one line with its own code and exit code, and the
 * log for the rest; otherwise the log's last lines.
 */
function startFailure(logFile: string, exited: number | null): SipError {
  const text = tail(logFile);
  const last = [...text.matchAll(/^sip: (.*) \((SIP_[A-Z_]+)\)$/gm)].pop();
  if (last && isSipErrorCode(last[2]!)) return new SipError(last[2], `${last[1]} (the cluster did not start; log: ${logFile})`, { expose: true });
  return new SipError('SIP_CLUSTER_START_FAILED', `the cluster exited (code ${exited}):\n${text}`, { expose: true });
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-8).join('\n');
  } catch {
    return '(no log)';
  }
}

/** `--agent-attribute N:NAME=VALUE`, repeated, as attributes per agent number. */
function agentAttributes(given: readonly string[], count: number): Record<number, Record<string, string>> {
  const out: Record<number, Record<string, string>> = {};
  for (const a of given) {
    const m = /^([1-9]):([A-Za-z0-9_.-]{1,64})=([A-Za-z0-9_.:/-]{0,128})$/.exec(a);
    if (!m) throw new UsageError(`--agent-attribute ${a}: expected N:NAME=VALUE (NAME letters, digits, _.-; VALUE also :/)`);
    const n = Number(m[1]);
    if (n > count) throw new UsageError(`--agent-attribute ${a}: there is no agent ${n} (--agents ${count})`);
    (out[n] ??= {})[m[2]!] = m[3]!;
  }
  return out;
}

/** `sip cluster agent list|kill N`: the agents from cluster.json; a kill is the master's MARK_AGENT_GONE. */
async function agentVerb(args: readonly string[], running: ClusterInfo | undefined, stateDir: string, json: boolean, io: CliIo): Promise<number> {
  if (!running) throw new SipError('SIP_CLUSTER_START_FAILED', `no local cluster running (state ${stateDir}); start one with: sip cluster up`);
  const [what, n, ...rest] = args;
  if (rest.length) throw new UsageError(`unexpected argument: ${rest[0]}`);
  const token = readFileSync(join(stateDir, 'acs-token'), 'utf8').trim();
  const call = async (body: unknown): Promise<Response> =>
    fetch(`${running.mesosMasterUrl}/api/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `token=${token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  if (what === 'list') {
    const res = await call({ type: 'GET_AGENTS' });
    const live = new Set(
      ((await res.json()) as { get_agents: { agents: Array<{ agent_info: { id: { value: string } } }> } }).get_agents.agents.map((a) => a.agent_info.id.value),
    );
    const rows = running.agents.map((a) => ({ ...a, gone: !live.has(a.id) }));
    if (json) io.stdout.write(`${JSON.stringify(rows)}\n`);
    else {
      io.stdout.write('N  ID                                        HOSTNAME     STATE   ATTRIBUTES\n');
      for (const a of rows)
        io.stdout.write(
          `${String(a.n).padEnd(2)} ${a.id.padEnd(41)} ${a.hostname.padEnd(12)} ${(a.gone ? 'gone' : 'active').padEnd(7)} ${Object.entries(a.attributes)
            .map(([k, v]) => `${k}:${v}`)
            .join(',')}\n`,
        );
    }
    return ExitCode.ok;
  }
  if (what !== 'kill' || n === undefined) throw new UsageError('usage: sip cluster agent list | sip cluster agent kill N');
  const agent = running.agents.find((a) => String(a.n) === n);
  if (!agent) throw new SipError('SIP_AGENT_NOT_FOUND', `no agent ${n} (agents: ${running.agents.map((a) => a.n).join(', ')})`, { expose: true });
  const res = await call({ type: 'MARK_AGENT_GONE', mark_agent_gone: { agent_id: { value: agent.id } } });
  if (res.status === 404) throw new SipError('SIP_AGENT_NOT_FOUND', `agent ${n} (${agent.id}) is already gone`, { expose: true });
  if (!res.ok) throw new SipError('SIP_CLUSTER_START_FAILED', `the master refused: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  io.stdout.write(`agent ${n} (${agent.id}, ${agent.hostname}) killed: its tasks are lost and replaced on the other agents\n`);
  return ExitCode.ok;
}
