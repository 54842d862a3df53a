import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod/mini';
import { createMarathonClient } from '../clients/marathon/client.js';
import { subscribe } from '../clients/marathon/eventStream.js';
import { createMesosAgentClient } from '../clients/mesos/agentClient.js';
import { createCredentialCache } from '../core/agent/credentialCache.js';
import type { RolePolicy } from '../core/agent/policy.js';
import { SipError } from '../core/errors/SipError.js';
import { resolveAppId } from '../core/marathon/appId.js';
import { createAgentHandler, listenAgent } from '../delivery/endpoint/agentServer.js';
import { createAppRoles, type RoleSource } from '../delivery/endpoint/appRole.js';
import { createStsAssumer } from '../delivery/endpoint/stsAssumer.js';
import { createTaskLocator } from '../delivery/endpoint/taskLocator.js';
import { createLogger } from '../log/logger.js';
import { createDcosSecretsClient } from '../stores/dcosSecretsClient.js';
import { ExitCode, UsageError, type CliIo } from './io.js';

/** Usage of `sip agent`. */
export const AGENT_USAGE = `usage: sip agent [options]

Runs on a Mesos agent (as root): serves the ECS container-credentials protocol
on loopback, so a task that has AWS_CONTAINER_CREDENTIALS_FULL_URI set gets
short-lived credentials for its own app's role through any AWS SDK's default
chain. The caller is found from its connection (socket → process → cgroup →
Mesos container → task); the external id never enters a task.

options:
  --listen HOST:PORT           where tasks call (default 127.0.0.1:51679; loopback only)
  --metrics-listen HOST:PORT   Prometheus metrics (GET /metrics); off unless given
  --marathon-url URL           Marathon (default $SIP_MARATHON_URL, else http://127.0.0.1:8080)
  --mesos-agent-url URL        this agent's operator API (default http://127.0.0.1:5051)
  --secrets-url URL            DC/OS Secrets API: roles from each app's aws-config secret
  --policy FILE                no secrets service: a JSON policy mapping Marathon groups to roles
                               {"rules":[{"group":"/team","roleArn":"arn:…","externalId":"…"}]}
  --token-file FILE            ACS token for Marathon, the agent and secrets (default $SIP_ACS_TOKEN)
  --cgroups-root ROOT          Mesos's --cgroups_root (default mesos)
  --task-token-key-file FILE   require each task's token (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)
  --duration SECONDS           session length asked of STS (default 3600)
  --max-sts-calls N            AssumeRole calls per second, the rest queue (default 10)
  --ready-file FILE            write the listening URL here once serving

Audit lines (one per issue and per denial; never a credential) go to stdout as JSON.`;

const policySchema = z.object({
  rules: z.array(
    z.object({
      group: z.string(),
      roleArn: z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/)),
      externalId: z.string().check(z.regex(/^[\w+=,.@:/-]{2,1224}$/)),
    }),
  ),
});

/** Reads and validates a policy file (config at the edge); problems name the rule, never an external id. */
export async function readPolicy(file: string, io: CliIo): Promise<RolePolicy> {
  let raw: unknown;
  try {
    raw = JSON.parse(await io.readFile(file));
  } catch (err) {
    throw new SipError('SIP_AGENT_CONFIG_INVALID', `policy ${file} is not readable JSON (${(err as NodeJS.ErrnoException).code ?? 'syntax error'})`, { expose: true });
  }
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `/${i.path.map(String).join('/')}`).join(', ');
    throw new SipError('SIP_AGENT_CONFIG_INVALID', `policy ${file}: invalid at ${where} (groups are Marathon paths, roleArn an IAM role ARN, externalId 2-1224 of [\\w+=,.@:/-])`, { expose: true });
  }
  const rules = parsed.data.rules.map((r, i) => {
    const g = r.group === '/' ? { ok: true as const, id: '/' } : resolveAppId(r.group);
    if (!g.ok) throw new SipError('SIP_AGENT_CONFIG_INVALID', `policy ${file}: /rules/${i}/group: ${g.error}`, { expose: true });
    return Object.freeze({ ...r, group: g.id });
  });
  return { rules };
}

const hostPort = (v: string, what: string): { host: string; port: number } => {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`${what} must be HOST:PORT`);
  const host = m[1]!.replace(/^\[|\]$/g, '');
  if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(host)) throw new UsageError(`${what}: the agent serves loopback only (127.0.0.0/8, ::1): every SDK refuses a plain-HTTP credentials URI elsewhere`);
  return { host, port: Number(m[2]) };
};

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
      'mesos-agent-url': { type: 'string', default: 'http://127.0.0.1:5051' },
      'secrets-url': { type: 'string' },
      policy: { type: 'string' },
      'token-file': { type: 'string' },
      'cgroups-root': { type: 'string', default: 'mesos' },
      'task-token-key-file': { type: 'string' },
      duration: { type: 'string', default: '3600' },
      'max-sts-calls': { type: 'string', default: '10' },
      'ready-file': { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  if (Boolean(values['secrets-url']) === Boolean(values.policy)) throw new UsageError('give exactly one of --secrets-url (roles from aws-config secrets) or --policy FILE');
  const listen = hostPort(values.listen, '--listen');
  const metricsAt = values['metrics-listen'] ? hostPort(values['metrics-listen'], '--metrics-listen') : undefined;
  const duration = Number(values.duration);
  if (!Number.isInteger(duration) || duration < 900 || duration > 43200) throw new UsageError('--duration must be 900-43200 seconds');
  const perSecond = Number(values['max-sts-calls']);
  if (!(perSecond >= 1)) throw new UsageError('--max-sts-calls must be at least 1');
  const token = values['token-file'] ? (await io.readFile(values['token-file'])).trim() : io.env.SIP_ACS_TOKEN;
  const taskTokenKey = values['task-token-key-file'] ? Buffer.from((await readFile(values['task-token-key-file'])).toString('utf8').trim(), 'base64url') : undefined;
  if (taskTokenKey && taskTokenKey.length < 16) throw new SipError('SIP_AGENT_CONFIG_INVALID', '--task-token-key-file must hold at least 16 bytes (base64url)', { expose: true });
  const marathonUrl = values['marathon-url'] ?? io.env.SIP_MARATHON_URL ?? 'http://127.0.0.1:8080';

  const logger = createLogger({ name: 'sip-agent', destination: process.stdout });
  const marathon = createMarathonClient({ url: marathonUrl, ...(token ? { token } : {}) });
  const source: RoleSource = values.policy
    ? { kind: 'policy', policy: await readPolicy(values.policy, io) }
    : {
        kind: 'secrets',
        store: createDcosSecretsClient({ url: values['secrets-url']!, token: token ?? '' }),
        audit: (record) => logger.info({ audit: record }, 'secret access decision'),
      };
  const roles = createAppRoles({ marathon, source });
  const cache = createCredentialCache({ assume: createStsAssumer({ durationSeconds: duration }), now: Date.now, maxCallsPerSecond: perSecond });
  const locator = createTaskLocator({ mesos: createMesosAgentClient({ url: values['mesos-agent-url'], ...(token ? { token } : {}) }), cgroupsRoot: values['cgroups-root'] });
  const handler = createAgentHandler({ locator, roles, cache, logger, ...(taskTokenKey ? { taskTokenKey } : {}) });
  const server = await listenAgent(handler.handle, listen.host, listen.port);
  const metrics = metricsAt
    ? await listenAgent(
        (req, res) => {
          if (req.method === 'GET' && req.url === '/metrics') {
            void handler.registry.metrics().then((text) => {
              res.writeHead(200, { 'content-type': handler.registry.contentType });
              res.end(text);
            });
          } else {
            res.writeHead(404).end();
          }
        },
        metricsAt.host,
        metricsAt.port,
      )
    : undefined;

  // A task that ends loses its credentials at once: Marathon's terminal status updates.
  let following = true;
  const TERMINAL = new Set(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_ERROR', 'TASK_DROPPED', 'TASK_GONE']);
  void (async () => {
    let delay = 500;
    while (following) {
      try {
        const events = await subscribe(marathonUrl, { ...(token ? { token } : {}), eventTypes: ['status_update_event'] });
        delay = 500;
        try {
          while (following) {
            const e = await events.next(() => true, 3_600_000).catch((err: { code?: string }) => {
              if (err.code === 'SIP_WAIT_TIMEOUT') return undefined;
              throw err;
            });
            if (e && TERMINAL.has(String(e.taskStatus)) && typeof e.taskId === 'string') {
              cache.forgetTask(e.taskId);
              roles.forgetTask(e.taskId);
              logger.info({ audit: { decision: 'forget', taskId: e.taskId, reason: String(e.taskStatus) } }, 'task ended: its credentials are dropped');
            }
          }
        } finally {
          events.close();
        }
      } catch (err) {
        if (!following) break;
        logger.warn({ err: { message: (err as Error).message } }, 'Marathon event stream lost; retrying');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    }
  })();

  if (values['ready-file']) await import('node:fs/promises').then((fs) => fs.writeFile(values['ready-file']!, `${server.url}\n${metrics?.url ?? ''}\n`, { mode: 0o600 }));
  logger.info({ url: server.url, metrics: metrics?.url, cgroupsRoot: values['cgroups-root'], roles: values.policy ? 'policy' : 'secrets' }, 'sip agent serving');
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  following = false;
  await server.close();
  await metrics?.close();
  return ExitCode.ok;
}
