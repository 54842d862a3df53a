import { constants, existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SipError } from '../core/errors/SipError.js';
import { createMarathonClient, type MarathonClient } from '../clients/marathon/client.js';
import { subscribe, type StreamEvent } from '../clients/marathon/eventStream.js';
import { acsTokenOf, readClusterInfo, stateDirOf } from './clusterState.js';
import { ExitCode, readInput, UsageError, type CliIo } from './io.js';
import { refuseRenderedValue } from './renderedValue.js';

/** Usage of `sip marathon`. */
export const MARATHON_USAGE = `usage: sip marathon <app|task|deployment> <command> [args] [options]

  app add [FILE|-]          add an app (JSON from FILE or stdin)
  app list                  list apps (a table; --json for Marathon's JSON)
  app show ID               print one app's JSON (as dcos marathon app show; e.g. | jq .tasksHealthy)
  app update ID [KEY=VALUE…|FILE|-]
                            update an app: properties (instances=3, env='{"A":"b"}'; values are
                            JSON, else strings) or a partial JSON definition; what is not given stays
  app stop ID               scale to 0 instances
  app start ID [N]          scale to N instances (default 1)
  app kill ID               kill its tasks (--scale: and lower instances by as many; --host HOST)
  app remove ID             remove an app and kill its tasks
  app restart ID            restart an app's tasks
  app version list ID       list an app's versions, newest first (--max-count N)
  task list [APP_ID]        list tasks (a table)
  task kill TASK_ID…        kill tasks (--scale: lower instances; --wipe: as Marathon takes it)
  task log TASK_ID          print a task's stdout (--stderr for stderr; local cluster only)
  deployment list [APP_ID]  list running deployments
  deployment rollback ID    revert a running deployment's app to its version before it
  deployment stop ID        stop a running deployment where it is (no rollback)

options:
  --wait                 follow the deployment until it succeeds or fails
  --timeout SECONDS      give up waiting after this long (default 300)
  --json                 machine-readable output
  --force                update even while a deployment runs
  --marathon-url URL     Marathon to talk to (default: the local cluster's, or $SIP_MARATHON_URL)
  --token TOKEN          DC/OS ACS token (default: $SIP_ACS_TOKEN, else the local cluster's)
  --state-dir DIR        local cluster state (default: $SIP_STATE_DIR, else .state)

exit codes: 0 done, 1 failed, 2 usage, 3 invalid definition, 4 conflict (exists), 5 not found, 6 deployment failed`;

async function definitionFrom(arg: string | undefined, io: CliIo): Promise<string> {
  const text = await readInput(arg, io, 'give a FILE or pipe the app definition on stdin', 'SIP_FILE_UNREADABLE');
  // `terraform output marathon_app_definition` without -raw is a quoted JSON string, not the object.
  refuseRenderedValue(text, 'the app definition', 'marathon_app_definition', 'SIP_MARATHON_INVALID');
  return text;
}

/**
 * How a deployment that is no longer listed ended, read from the app itself:
 * the waiter never depends on having seen the event (it may have fired before
 * the stream attached, or been lost).
 */
async function settled(client: MarathonClient, deploymentId: string, appId: string): Promise<StreamEvent | undefined> {
  const running = await client.deployments().catch(() => undefined);
  if (!running || running.some((d) => d.id === deploymentId)) return undefined;
  const app = await client.getApp(appId).catch((err: { code?: string }) => (err.code === 'SIP_MARATHON_NOT_FOUND' ? null : undefined));
  if (app === undefined) return undefined;
  if (app === null) return { eventType: 'deployment_success', id: deploymentId }; // removed
  const current = (app.tasks ?? []).filter((t: Record<string, any>) => t.version === app.versionInfo?.lastConfigChangeAt && t.state === 'TASK_RUNNING');
  const checks = (app.healthChecks ?? []).length > 0;
  const ok = current.length === app.instances && (!checks || app.tasksHealthy === app.instances);
  if (ok) return { eventType: 'deployment_success', id: deploymentId };
  return { eventType: 'deployment_failed', id: deploymentId, reason: app.lastTaskFailure?.message ?? 'ended without reaching its goal' };
}

/** Follows one deployment on the event stream, printing progress, until it ends (checking the API every second too). */
async function follow(
  events: Awaited<ReturnType<typeof subscribe>>,
  client: MarathonClient,
  deploymentId: string,
  appId: string,
  timeoutMs: number,
  io: CliIo,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  io.stdout.write(`waiting for deployment ${deploymentId} of ${appId}…\n`);
  for (;;) {
    if (Date.now() >= deadline)
      throw new SipError('SIP_WAIT_TIMEOUT', `deployment ${deploymentId} did not end within ${Math.round(timeoutMs / 1000)} s`, { expose: true });
    const e: StreamEvent | undefined = await events
      .next(
        (ev) =>
          ((ev.eventType === 'deployment_success' || ev.eventType === 'deployment_failed') && ev.id === deploymentId) ||
          ((ev.eventType === 'status_update_event' || ev.eventType === 'health_status_changed_event' || ev.eventType === 'unhealthy_task_kill_event') &&
            ev.appId === appId),
        Math.max(1, Math.min(1000, deadline - Date.now())),
      )
      .catch((err: { code?: string }) => {
        if (err.code === 'SIP_WAIT_TIMEOUT') return settled(client, deploymentId, appId);
        throw err;
      });
    if (!e) continue;
    if (e.eventType === 'deployment_success') {
      io.stdout.write(`deployment ${deploymentId} succeeded\n`);
      return;
    }
    if (e.eventType === 'deployment_failed') {
      throw new SipError('SIP_DEPLOYMENT_FAILED', `deployment ${deploymentId} failed${e.reason ? `: ${String(e.reason)}` : ''}`, { expose: true });
    }
    if (e.eventType === 'status_update_event') {
      io.stdout.write(`  task ${String(e.taskId)}: ${String(e.taskStatus)}${e.message ? ` (${String(e.message)})` : ''}\n`);
    } else if (e.eventType === 'health_status_changed_event') {
      io.stdout.write(`  task ${String(e.taskId)}: ${e.alive ? 'healthy' : 'unhealthy'}\n`);
    } else {
      io.stdout.write(`  task ${String(e.taskId)}: killed as unhealthy (${String(e.reason)})\n`);
    }
  }
}

/** Marathon ids on the command line may omit the leading slash. */
const absoluteId = (id: string): string => (id.startsWith('/') ? id : `/${id}`);

/** Rows under a header, columns padded as dcos prints its tables. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** dcos's `app list` columns. */
function appRows(apps: Array<Record<string, any>>): string {
  return table(
    ['ID', 'MEM', 'CPUS', 'TASKS', 'HEALTH', 'DEPLOYMENT', 'WAITING', 'CONTAINER', 'CMD'],
    apps.map((a) => [
      a.id,
      String(a.mem),
      String(a.cpus),
      `${a.tasksRunning}/${a.instances}`,
      (a.healthChecks ?? []).length ? `${a.tasksHealthy}/${a.tasksRunning}` : '---',
      a.deployments?.length ? 'deploying' : '---',
      a.tasksRunning < a.instances && !a.deployments?.length ? 'True' : 'False',
      a.container?.type ?? 'mesos',
      String(a.cmd ?? (a.args ?? []).join(' ') ?? ''),
    ]),
  );
}

/** `key=value` properties as dcos takes them: the value as JSON when it parses, else as a string. */
export function properties(args: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  for (const arg of args) {
    const i = arg.indexOf('=');
    if (i <= 0) throw new UsageError(`cannot read ${arg}: properties are KEY=VALUE (e.g. instances=3)`);
    const key = arg.slice(0, i);
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') throw new UsageError(`${key} is not a property of an app`);
    const raw = arg.slice(i + 1);
    try {
      out[key] = JSON.parse(raw);
    } catch {
      out[key] = raw;
    }
  }
  return { ...out };
}

/**
 * `sip marathon app|task …`: the `dcos marathon` commands this project
 * needs, against the local cluster or any Marathon.
 */
export async function marathonCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      wait: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '300' },
      json: { type: 'boolean', default: false },
      stderr: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      scale: { type: 'boolean', default: false },
      wipe: { type: 'boolean', default: false },
      host: { type: 'string' },
      'max-count': { type: 'string' },
      'marathon-url': { type: 'string' },
      token: { type: 'string' },
      'state-dir': { type: 'string' },
    },
  });
  const [noun, verb, arg1, arg2, ...extra] = positionals;
  // Commands that take a list: properties, task ids, `version list ID`.
  const listCommands = ['app update', 'task kill', 'app version'];
  if (extra.length > 0 && !listCommands.includes(`${noun} ${verb}`)) throw new UsageError(`unexpected argument: ${extra[0]}`);
  const timeoutMs = Number(values.timeout) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError('--timeout must be a positive number of seconds');
  const stateDir = stateDirOf(values['state-dir'], io.env);
  const key = `${noun ?? ''} ${verb ?? ''}`;
  const known = [
    'app add',
    'app list',
    'app show',
    'app update',
    'app remove',
    'app restart',
    'app stop',
    'app start',
    'app kill',
    'app version',
    'task list',
    'task log',
    'task kill',
    'deployment list',
    'deployment rollback',
    'deployment stop',
  ];
  if (!known.includes(key)) throw new UsageError(noun ? `unknown command: marathon ${key.trim()}` : 'missing command');
  if (key === 'app version' && arg1 !== 'list') throw new UsageError('usage: sip marathon app version list ID');
  const needsId = [
    'app show',
    'app update',
    'app remove',
    'app restart',
    'app stop',
    'app start',
    'app kill',
    'task log',
    'task kill',
    'deployment rollback',
    'deployment stop',
  ];
  if (needsId.includes(key) && !arg1) throw new UsageError(`${key} needs an ${noun === 'task' ? 'TASK_ID' : 'ID'}`);

  const out = (s: string): void => void io.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  if (key === 'task log') {
    const file = join(stateDir, 'sandboxes', arg1 ?? '', values.stderr ? 'stderr' : 'stdout');
    try {
      // Never through a symlink the task may have put in its sandbox (this runs as root).
      const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        io.stdout.write(await fh.readFile('utf8'));
      } finally {
        await fh.close();
      }
    } catch {
      throw new SipError('SIP_TASK_NOT_FOUND', `no sandbox for task ${arg1} in ${stateDir} (task log reads the local cluster's sandboxes)`, { expose: true });
    }
    return ExitCode.ok;
  }

  const url = values['marathon-url'] ?? io.env.SIP_MARATHON_URL ?? (await readClusterInfo(stateDir))?.marathonUrl;
  if (!url)
    throw new SipError('SIP_MARATHON_UNREACHABLE', `no Marathon to talk to: start the local cluster (sip cluster up) or pass --marathon-url`, { expose: true });
  const token = await acsTokenOf(values.token, io.env, stateDir);
  const client: MarathonClient = createMarathonClient({ url, ...(token ? { token } : {}) });
  const withWait = async <T extends { deploymentId?: string; deployments?: Array<{ id: string }> }>(appId: string, action: () => Promise<T>): Promise<T> => {
    const events = values.wait ? await subscribe(url, { ...(token ? { token } : {}) }) : undefined;
    try {
      const result = await action();
      const deploymentId = result.deploymentId ?? result.deployments?.[0]?.id;
      if (events && deploymentId) await follow(events, client, deploymentId, appId, timeoutMs, io);
      return result;
    } finally {
      events?.close();
    }
  };

  const deployed = (r: { deploymentId?: string; version?: string; deployments?: Array<{ id: string }> }): string =>
    values.json ? JSON.stringify(r) : `Created deployment ${r.deploymentId ?? r.deployments?.[0]?.id ?? '-'}`;
  /** A kill's answer: the deployment it started (with scale), else the tasks killed. */
  const killed = (r: { tasks?: Array<Record<string, any>>; deploymentId?: string }): string =>
    values.json
      ? JSON.stringify(r)
      : r.deploymentId
        ? `Created deployment ${r.deploymentId}`
        : `Killed tasks: ${(r.tasks ?? []).map((t) => t.id).join(' ') || 'none'}`;
  const scaleTo = async (id: string, instances: number): Promise<void> => {
    const r = await withWait(id, () => client.putApp(id, { instances }, { force: values.force }));
    out(deployed(r));
  };

  switch (key) {
    case 'app add': {
      const text = await definitionFrom(arg1, io);
      let id = '';
      try {
        id = String((JSON.parse(text) as { id?: unknown }).id ?? '');
      } catch {
        // Marathon answers 400 Invalid JSON below
      }
      const app = await withWait(absoluteId(id), () => client.addApp(text));
      out(values.json ? JSON.stringify(app) : `Created deployment ${app.deployments[0]?.id ?? '-'}`);
      break;
    }
    case 'app update': {
      const id = absoluteId(arg1 ?? '');
      const rest = [arg2, ...extra].filter((a): a is string => a !== undefined);
      // dcos's property form (instances=3 …), else a partial definition from FILE or stdin.
      const patch = rest.length > 0 && rest.every((a) => /^[^=/]+=/.test(a)) ? JSON.stringify(properties(rest)) : undefined;
      if (!patch && rest.length > 1) throw new UsageError(`unexpected argument: ${rest[1]}`);
      if (!patch && rest[0] !== undefined && rest[0] !== '-' && !existsSync(rest[0])) {
        throw new UsageError(`cannot read ${rest[0]}: give KEY=VALUE properties (e.g. instances=3), a FILE, or - for stdin`);
      }
      const r = await withWait(id, async () => client.putApp(id, patch ?? (await definitionFrom(rest[0], io)), { force: values.force }));
      out(deployed(r));
      break;
    }
    case 'app stop':
      await scaleTo(absoluteId(arg1 ?? ''), 0);
      break;
    case 'app start': {
      const n = arg2 === undefined ? 1 : Number(arg2);
      if (!Number.isInteger(n) || n < 0) throw new UsageError('app start takes a whole number of instances');
      await scaleTo(absoluteId(arg1 ?? ''), n);
      break;
    }
    case 'app kill': {
      const id = absoluteId(arg1 ?? '');
      const r = await client.killAppTasks(id, { scale: values.scale, ...(values.host ? { host: values.host } : {}) });
      out(killed(r));
      break;
    }
    case 'app remove': {
      const id = absoluteId(arg1 ?? '');
      const r = await withWait(id, () => client.removeApp(id));
      if (values.json) out(JSON.stringify(r));
      break;
    }
    case 'app restart': {
      const id = absoluteId(arg1 ?? '');
      const r = await withWait(id, () => client.restartApp(id));
      out(deployed(r));
      break;
    }
    case 'app version': {
      const id = absoluteId(arg2 ?? '');
      if (!arg2) throw new UsageError('app version list needs an ID');
      const max = values['max-count'] === undefined ? Infinity : Number(values['max-count']);
      if (!(max > 0)) throw new UsageError('--max-count must be a positive number');
      const versions = (await client.versions(id)).slice(0, max);
      out(JSON.stringify(versions, null, 2));
      break;
    }
    case 'app show': {
      // As `dcos marathon app show`: the app's JSON (tasks, tasksHealthy, …), for jq.
      const app = await client.getApp(arg1 ?? '');
      out(JSON.stringify(app, null, 2));
      break;
    }
    case 'app list': {
      const apps = await client.listApps();
      out(values.json ? JSON.stringify(apps) : apps.length ? appRows(apps) : 'There are no apps');
      break;
    }
    case 'task list': {
      const tasks = await client.tasks(arg1);
      const rows = tasks.map((t) => [
        t.appId,
        (t.healthCheckResults ?? []).length ? String((t.healthCheckResults as Array<{ alive: boolean }>).every((h) => h.alive)) : 'True',
        t.startedAt ?? 'N/A',
        t.host,
        t.state,
        t.id,
      ]);
      out(values.json ? JSON.stringify(tasks) : tasks.length ? table(['APP', 'HEALTHY', 'STARTED', 'HOST', 'STATE', 'ID'], rows) : 'There are no tasks');
      break;
    }
    case 'task kill': {
      const ids = [arg1, arg2, ...extra].filter((a): a is string => a !== undefined);
      const r = await client.killTasks(ids, { scale: values.scale, wipe: values.wipe });
      out(killed(r));
      break;
    }
    case 'deployment list': {
      const all = await client.deployments();
      const mine = arg1 ? all.filter((d) => (d.affectedApps ?? []).includes(absoluteId(arg1))) : all;
      const rows = mine.map((d) => [
        (d.affectedApps ?? []).join(','),
        d.id,
        `${d.currentStep}/${d.totalSteps}`,
        (d.currentActions ?? []).map((a: { action: string; app: string }) => `${a.action} ${a.app}`).join(', '),
      ]);
      out(values.json ? JSON.stringify(mine) : mine.length ? table(['APP', 'ID', 'STEP', 'ACTION'], rows) : 'There are no deployments');
      break;
    }
    case 'deployment rollback': {
      const r = await client.cancelDeployment(arg1 ?? '', false);
      out(values.json ? JSON.stringify(r ?? {}) : `Created deployment ${r?.deploymentId ?? '-'}`);
      break;
    }
    case 'deployment stop': {
      await client.cancelDeployment(arg1 ?? '', true);
      if (values.json) out('{}');
      break;
    }
  }
  return ExitCode.ok;
}
