import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SipError } from '../core/errors/SipError.js';
import { createMarathonClient, type MarathonClient } from '../clients/marathon/client.js';
import { subscribe, type StreamEvent } from '../clients/marathon/eventStream.js';
import { acsTokenOf, readClusterInfo, stateDirOf } from './clusterState.js';
import { ExitCode, readInput, UsageError, type CliIo } from './io.js';
import { refuseRenderedValue } from './renderedValue.js';

/** Usage of `sip marathon`. */
export const MARATHON_USAGE = `usage: sip marathon <app|task> <command> [args] [options]

  app add [FILE|-]          add an app (JSON from FILE or stdin)
  app list                  list apps with their task counts
  app show ID               print one app's JSON (as dcos marathon app show; e.g. | jq .tasksHealthy)
  app update ID [FILE|-]    replace an app's definition (new version, rolling restart)
  app remove ID             remove an app and kill its tasks
  app restart ID            restart an app's tasks
  task list [APP_ID]        list tasks
  task log TASK_ID          print a task's stdout (--stderr for stderr; local cluster only)

options:
  --wait                 follow the deployment until it succeeds or fails
  --timeout SECONDS      give up waiting after this long (default 300)
  --json                 machine-readable output
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

/** Follows one deployment on the event stream, printing progress, until it ends. */
async function follow(events: Awaited<ReturnType<typeof subscribe>>, deploymentId: string, appId: string, timeoutMs: number, io: CliIo): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  io.stdout.write(`waiting for deployment ${deploymentId} of ${appId}…\n`);
  for (;;) {
    const e: StreamEvent = await events.next(
      (ev) =>
        ((ev.eventType === 'deployment_success' || ev.eventType === 'deployment_failed') && ev.id === deploymentId) ||
        ((ev.eventType === 'status_update_event' || ev.eventType === 'health_status_changed_event' || ev.eventType === 'unhealthy_task_kill_event') && ev.appId === appId),
      Math.max(1, deadline - Date.now()),
    );
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

function summary(app: Record<string, any>): string {
  const failure = app.lastTaskFailure ? `  last failure: ${app.lastTaskFailure.message}` : '';
  return `${app.id}  instances ${app.instances}  running ${app.tasksRunning}  healthy ${app.tasksHealthy}  staged ${app.tasksStaged}  unhealthy ${app.tasksUnhealthy}  deployments ${app.deployments?.length ?? 0}${failure}`;
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
      'marathon-url': { type: 'string' },
      token: { type: 'string' },
      'state-dir': { type: 'string' },
    },
  });
  const [noun, verb, arg1, arg2, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`);
  const timeoutMs = Number(values.timeout) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError('--timeout must be a positive number of seconds');
  const stateDir = stateDirOf(values['state-dir'], io.env);
  const key = `${noun ?? ''} ${verb ?? ''}`;
  const known = ['app add', 'app list', 'app show', 'app update', 'app remove', 'app restart', 'task list', 'task log'];
  if (!known.includes(key)) throw new UsageError(noun ? `unknown command: marathon ${key.trim()}` : 'missing command');
  const needsId = ['app show', 'app update', 'app remove', 'app restart', 'task log'];
  if (needsId.includes(key) && !arg1) throw new UsageError(`${key} needs an ${noun === 'task' ? 'TASK_ID' : 'ID'}`);

  const out = (s: string): void => void io.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  if (key === 'task log') {
    const file = join(stateDir, 'sandboxes', arg1 ?? '', values.stderr ? 'stderr' : 'stdout');
    try {
      io.stdout.write(await readFile(file, 'utf8'));
    } catch {
      throw new SipError('SIP_TASK_NOT_FOUND', `no sandbox for task ${arg1} in ${stateDir} (task log reads the local cluster's sandboxes)`, { expose: true });
    }
    return ExitCode.ok;
  }

  const url = values['marathon-url'] ?? io.env.SIP_MARATHON_URL ?? (await readClusterInfo(stateDir))?.marathonUrl;
  if (!url) throw new SipError('SIP_MARATHON_UNREACHABLE', `no Marathon to talk to: start the local cluster (sip cluster up) or pass --marathon-url`, { expose: true });
  const token = await acsTokenOf(values.token, io.env, stateDir);
  const client: MarathonClient = createMarathonClient({ url, ...(token ? { token } : {}) });
  const withWait = async <T extends { deploymentId?: string; deployments?: Array<{ id: string }> }>(appId: string, action: () => Promise<T>): Promise<T> => {
    const events = values.wait ? await subscribe(url, { ...(token ? { token } : {}) }) : undefined;
    try {
      const result = await action();
      const deploymentId = result.deploymentId ?? result.deployments?.[0]?.id;
      if (events && deploymentId) await follow(events, deploymentId, appId, timeoutMs, io);
      return result;
    } finally {
      events?.close();
    }
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
      out(values.json ? JSON.stringify(app) : `created ${app.id} (deployment ${app.deployments[0]?.id ?? '-'})`);
      break;
    }
    case 'app update': {
      const id = absoluteId(arg1 ?? '');
      const r = await withWait(id, async () => client.putApp(id, await definitionFrom(arg2, io)));
      out(values.json ? JSON.stringify(r) : `updated ${id} (deployment ${r.deploymentId})`);
      break;
    }
    case 'app remove': {
      const id = absoluteId(arg1 ?? '');
      const r = await withWait(id, () => client.removeApp(id));
      out(values.json ? JSON.stringify(r) : `removed ${id} (deployment ${r.deploymentId})`);
      break;
    }
    case 'app restart': {
      const id = absoluteId(arg1 ?? '');
      const r = await withWait(id, () => client.restartApp(id));
      out(values.json ? JSON.stringify(r) : `restarting ${id} (deployment ${r.deploymentId})`);
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
      out(values.json ? JSON.stringify(apps) : apps.length ? apps.map(summary).join('\n') : 'no apps');
      break;
    }
    case 'task list': {
      const tasks = await client.tasks(arg1);
      out(values.json ? JSON.stringify(tasks) : tasks.length ? tasks.map((t) => `${t.id}  ${t.appId}  ${t.state}  ${t.host}:${(t.ports ?? []).join(',')}`).join('\n') : 'no tasks');
      break;
    }
  }
  return ExitCode.ok;
}
