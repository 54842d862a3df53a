/** What one soak run measured: written as `report.json`, rendered as `report.md` and `report.svg`. */
export interface SoakReport {
  /** ISO start and end, the planned and actual length. */
  startedAt: string;
  endedAt: string;
  plannedMinutes: number;
  durationSeconds: number;
  /** The cluster's shape: agents, default delivery mode, apps by mode. */
  cluster: { agents: number; defaultMode: string; apps: Array<{ id: string; mode: string; instances: number }> };
  /** Requests by kind (`upload`, `credentials`, `deploy`, `scale`, `restart`, `rollback`, `secret-update`, `pool-change`, …) and outcome (`201`, `503`, `error:ECONNRESET`, …). */
  requests: Record<string, Record<string, number>>;
  /** Faults injected, by kind, with each one's recovery (ms from the fault's end until every app runs its declared instances and EdgeLB routes to each; null: not recovered within the bound). */
  faults: Record<string, { count: number; recoveryMs: Array<number | null>; p50Ms: number | null; maxMs: number | null; boundMs: number }>;
  /** Longest time a running endpoint-mode task was refused credentials, ms, and when it began (offset s). */
  credentialGap: { longestMs: number; atSecond: number | null; boundMs: number };
  /** Uploads: answered 201 vs found byte for byte in the bucket; lost (201, not found), torn (found, wrong bytes), duplicated (stored twice), stray (stored, never acknowledged). */
  uploads: { acknowledged: number; verified: number; lost: number; torn: number; duplicated: number; stray: number; bytesAcknowledged: number };
  /** Secret values, external ids or credentials found where they must not be (file or stream, and which value: never the value itself). */
  leaks: Array<{ where: string; what: string }>;
  /** Apps and secrets acknowledged and later missing or different. */
  lost: { apps: string[]; secrets: string[] };
  /** Resident memory per long-running process kind: samples' first/last/max MiB and the slope (MiB per hour, least squares over the run's second half). */
  memory: Record<string, { samples: number; firstMiB: number; lastMiB: number; maxMiB: number; slopeMiBPerHour: number; bounded: boolean; judged?: boolean }>;
  /** The timeline for the plot: per 10 s bucket, requests, errors, and faults started then. */
  timeline: Array<{ second: number; requests: number; errors: number; faults: string[] }>;
  /** Fault kinds this run could not inject, and why. */
  notInjected?: Record<string, string>;
  /** Every invariant broken (empty: the run passed). */
  violations: string[];
}
