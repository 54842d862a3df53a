import type { ValidatedApp } from '../core/marathon/appDefinition.js';
import type { AuditRecord } from '../core/resolver/audit.js';
import type { MountPlan } from '../core/resolver/mountPlan.js';
import type { SecretStore } from '../core/secrets/SecretStore.js';

/** A task about to start, as a delivery mode sees it. */
export interface TaskToDeliver {
  readonly app: ValidatedApp;
  readonly taskId: string;
  /** What the resolver decided the task receives (files and environment). */
  readonly plan: MountPlan;
  /** Whether it runs in a Docker container (the sandbox mounted at `/mnt/mesos/sandbox`). */
  readonly docker: boolean;
  /** Audit sink for decisions the mode makes on secrets. */
  audit(record: AuditRecord): void;
  now(): Date;
}

/** Where a task's sandbox is: on the host, and as the task sees it. */
export interface SandboxPlace {
  readonly hostPath: string;
  /** The path inside the task (the host path, or `/mnt/mesos/sandbox` in a container). */
  readonly taskPath: string;
  /** Owner of what is written there (the task's user), or none (the agent's). */
  readonly owner?: { uid: number; gid: number };
}

/** What a mode put in place for a task. */
export interface Delivered {
  /** Files written into the sandbox (host paths), for a container to mount. */
  readonly files: readonly string[];
  /** Environment the task gets on top of its own (secrets in `env`, endpoints). */
  readonly env: Readonly<Record<string, string>>;
  /** Removes what was written (the task ended). */
  cleanup(): Promise<void>;
}

/**
 * How a task gets its AWS credentials: one per folder under `delivery/`
 * (`file/`, `endpoint/`). The launcher resolves the task's secrets, asks the
 * mode whether it may start, then has it deliver into the sandbox; it knows
 * no mode by name.
 */
export interface DeliveryMode {
  /** The `sip.aws.credentials` value it serves. */
  readonly name: string;
  /** Why an app may not even be saved in this mode (`app add`), or undefined. */
  admission?(app: ValidatedApp, store: SecretStore): Promise<string | undefined>;
  /** Why this task may not start in this mode, or undefined; checked before anything is written. */
  refusal(task: TaskToDeliver): string | undefined;
  /** Writes what the task receives into its sandbox and says which environment it gets. */
  deliver(task: TaskToDeliver, sandbox: SandboxPlace): Promise<Delivered>;
}

/** The delivery mode of each app (the composition root maps `sip.aws.credentials` to a `delivery/` folder). */
export interface DeliveryModes {
  modeOf(app: ValidatedApp): DeliveryMode;
  /** The mode of apps without the label, as `/v2/info` reports it. */
  readonly defaultMode: string;
}
