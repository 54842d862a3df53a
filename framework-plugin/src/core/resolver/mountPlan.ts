import { inspect } from 'node:util';

/** One secret file to place in a task's sandbox. */
export interface PlannedFile {
  /** Name of the secret in the app definition. */
  readonly secret: string;
  /** Canonical store path it came from. */
  readonly source: string;
  /** Path relative to the sandbox (`$MESOS_SANDBOX/<containerPath>`). */
  readonly containerPath: string;
  /** Always 0o400: readable by the task's user only. */
  readonly mode: number;
  readonly bytes: Buffer;
}

/**
 * Exactly what to deliver to one task: files and environment values.
 *
 * Holds secret values, so it refuses to be printed: `JSON.stringify` and
 * `util.inspect` show names and paths only.
 */
export interface MountPlan {
  readonly appId: string;
  readonly taskId: string;
  readonly files: readonly PlannedFile[];
  /** Environment variables whose values come from secrets. */
  readonly env: Readonly<Record<string, string>>;
}

/** Builds a frozen {@link MountPlan} whose printed forms never include a value. */
export function createMountPlan(appId: string, taskId: string, files: PlannedFile[], env: Record<string, string>): MountPlan {
  const redacted = (): object => ({
    appId,
    taskId,
    files: files.map((f) => ({ secret: f.secret, source: f.source, containerPath: f.containerPath, mode: `0${f.mode.toString(8)}`, bytes: f.bytes.length })),
    env: Object.fromEntries(Object.keys(env).map((k) => [k, '[secret]'])),
  });
  const plan = {
    appId,
    taskId,
    files: Object.freeze(files.map((f) => Object.freeze({ ...f }))),
    env: Object.freeze({ ...env }),
    toJSON: redacted,
    [inspect.custom]: () => `MountPlan ${inspect(redacted(), { depth: 4 })}`,
  };
  return Object.freeze(plan);
}
