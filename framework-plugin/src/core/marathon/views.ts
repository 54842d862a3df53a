import type { AppDefinition } from './appDefinition.js';

/** Mesos task states the local cluster reports (terminal: KILLED, FAILED, FINISHED). */
export type TaskStatus = 'TASK_STAGING' | 'TASK_RUNNING' | 'TASK_KILLING' | 'TASK_KILLED' | 'TASK_FAILED' | 'TASK_FINISHED' | 'TASK_LOST';

/** One health check's state for one task, as Marathon shows it. */
export interface HealthCheckResult {
  alive: boolean;
  consecutiveFailures: number;
  firstSuccess: string | null;
  lastSuccess: string | null;
  lastFailure: string | null;
  lastFailureCause: string | null;
  taskId: string;
}

/** A task as `GET /v2/apps/{id}/tasks` shows it. */
export interface TaskView {
  id: string;
  appId: string;
  host: string;
  ports: number[];
  /** The app's service ports (cluster-wide, for load balancers). */
  servicePorts: number[];
  ipAddresses: Array<{ ipAddress: string; protocol: 'IPv4' | 'IPv6' }>;
  /** The Mesos role the task's resources came from. */
  role: string;
  slaveId: string;
  stagedAt: string;
  startedAt: string | null;
  version: string;
  state: TaskStatus;
  healthCheckResults: HealthCheckResult[];
}

/** Marathon's `lastTaskFailure`. */
export interface TaskFailure {
  appId: string;
  host: string;
  message: string;
  state: TaskStatus;
  taskId: string;
  timestamp: string;
  version: string;
}

/** A deployment as `GET /v2/deployments` shows it. */
export interface Deployment {
  id: string;
  version: string;
  affectedApps: string[];
  affectedPods: string[];
  steps: Array<{ actions: Array<{ action: string; app: string }> }>;
  currentActions: Array<{ action: string; app: string; readinessCheckResults: unknown[] }>;
  currentStep: number;
  totalSteps: number;
}

/** An app as `GET /v2/apps/{id}` shows it: the definition plus its live counts. */
export type AppView = AppDefinition & {
  /** The latest version: changed by every update, scaling included. */
  version: string;
  /** When the app was last scaled and last changed otherwise (what tasks run). */
  versionInfo: { lastScalingAt: string; lastConfigChangeAt: string };
  tasksStaged: number;
  tasksRunning: number;
  tasksHealthy: number;
  tasksUnhealthy: number;
  deployments: Array<{ id: string }>;
  lastTaskFailure?: TaskFailure;
  tasks?: TaskView[];
};

/** Fields of an app view that are state, not definition (counts, tasks, deployments, versions). */
const STATE_FIELDS = ['version', 'versionInfo', 'tasksStaged', 'tasksRunning', 'tasksHealthy', 'tasksUnhealthy', 'deployments', 'lastTaskFailure', 'tasks'] as const;

/** The definition part of an app as Marathon shows it: what a partial update merges over, what gets validated again. */
export function definitionOf(view: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const def: Record<string, unknown> = { ...view };
  for (const k of STATE_FIELDS) delete def[k];
  return def;
}

/** Who asked for a change, as `api_post_event` reports it. */
export interface ApiRequest {
  clientIp: string;
  uri: string;
}

/** An app waiting for launches, as `GET /v2/queue` shows it. */
export interface QueueItem {
  app: AppView;
  count: number;
  role: string;
  delay: { timeLeftSeconds: number; overdue: boolean };
  since: string;
  processedOffersSummary: { processedOffersCount: number; unusedOffersCount: number };
  /** Why nothing launches (local cluster): backoff, no room on the agent, or a refusal. */
  lastUnusedOfferReason?: string;
}
