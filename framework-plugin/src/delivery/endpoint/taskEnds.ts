import type { Logger } from 'pino';
import { followEvents, type EventFollower } from '../../clients/marathon/eventFollower.js';
import type { UpstreamAuth } from '../../net/upstreamAuth.js';

/** Marathon's terminal task states (`status_update_event.taskStatus`). */
const TERMINAL = new Set([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_LOST',
  'TASK_ERROR',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
  'TASK_UNKNOWN',
]);

/** States of a task that runs or is about to. */
const STARTED = new Set(['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING']);

/** What {@link followTaskEnds} needs. */
export interface TaskEndsInit {
  marathonUrl: string;
  auth?: UpstreamAuth;
  /** A task ended: everything held for it goes. */
  forget(taskId: string, why: string): void;
  /** A task is staging, starting or running (sip agent looks for its container at once). */
  started?(taskId: string): void;
  /** The tasks held now, and those the Mesos agent still runs: held tasks it no longer runs are forgotten. */
  held(): Set<string>;
  running(): Promise<readonly string[]>;
  logger: Logger;
  /** Also reconcile this often, ms (missed events, a silent stream); default 60 s. */
  reconcileMs?: number;
}

/**
 * Drops an ended task's credentials within seconds: Marathon's terminal
 * `status_update_event`s, read from its event stream (reconnected with
 * backoff), and a reconciliation against the Mesos agent's container list
 * after every (re)attachment and periodically, for what the stream missed.
 */
export function followTaskEnds(init: TaskEndsInit): { stop(): void } {
  const reconcile = async (): Promise<void> => {
    const running = new Set(await init.running());
    for (const taskId of init.held()) if (!running.has(taskId)) init.forget(taskId, 'no longer run by the Mesos agent');
  };
  const safeReconcile = (): Promise<void> =>
    reconcile().catch((err: Error) => init.logger.warn({ err: { message: err.message } }, 'task reconciliation failed; retried later'));
  const follower: EventFollower = followEvents({
    url: init.marathonUrl,
    ...(init.auth ? { auth: init.auth } : {}),
    eventTypes: ['status_update_event'],
    onAttached: safeReconcile,
    onEvent(e) {
      if (typeof e.taskId !== 'string') return;
      if (TERMINAL.has(String(e.taskStatus))) init.forget(e.taskId, String(e.taskStatus));
      else if (STARTED.has(String(e.taskStatus))) init.started?.(e.taskId);
    },
    onLost: (err, retryInMs) => init.logger.warn({ err: { message: err.message }, retryInMs }, 'Marathon event stream lost; reconnecting'),
  });
  const timer = setInterval(() => void safeReconcile(), init.reconcileMs ?? 60_000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      follower.stop();
    },
  };
}
