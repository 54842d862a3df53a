import type { HealthCheck } from '../../core/marathon/appDefinition.js';
import type { HealthCheckResult } from '../../core/marathon/views.js';
import type { ProbeResult } from '../launcher/healthCheck.js';
import type { Clock, Timer } from './clock.js';

/** Ports of {@link monitorHealth}. */
export interface HealthMonitorDeps {
  clock: Clock;
  /** Probes one check once (HTTP, TCP, COMMAND). */
  probe: (check: HealthCheck) => Promise<ProbeResult>;
  /** A check turned alive, or stopped being alive. */
  onChange: (alive: boolean) => void;
  /** A check failed `maxConsecutiveFailures` times in a row: the task must be killed. */
  onUnhealthy: (reason: string, consecutiveFailures: number) => void;
}

/** A running task's health checks. */
export interface HealthMonitor {
  /** The results Marathon shows: only checks that have a verdict. */
  results(): HealthCheckResult[];
  /** Every check has a verdict and is alive (true when there are no checks). */
  healthy(): boolean;
  stop(): void;
}

/**
 * Marathon's health checks for one task that has just started: the first
 * probe after `min(delaySeconds, intervalSeconds)`, then every
 * `intervalSeconds`; failures before the first success are ignored during
 * `gracePeriodSeconds`; `maxConsecutiveFailures` failures in a row (when > 0)
 * ask for the task to be killed. All time comes from the injected clock.
 */
export function monitorHealth(taskId: string, checks: readonly HealthCheck[], deps: HealthMonitorDeps): HealthMonitor {
  const startedAt = deps.clock.now().getTime();
  let stopped = false;
  const timers: Timer[] = [];
  const state = checks.map((): { result: HealthCheckResult; known: boolean } => ({
    result: { alive: false, consecutiveFailures: 0, firstSuccess: null, lastSuccess: null, lastFailure: null, lastFailureCause: null, taskId },
    known: false,
  }));

  checks.forEach((hc, i) => {
    const s = state[i];
    if (!s) return;
    const check = async (): Promise<void> => {
      const r = await deps.probe(hc);
      if (stopped) return;
      const now = deps.clock.now();
      const iso = now.toISOString();
      const wasAlive = s.known && s.result.alive;
      if (r.ok) {
        s.result.alive = true;
        s.result.consecutiveFailures = 0;
        s.result.lastSuccess = iso;
        s.result.firstSuccess ??= iso;
      } else {
        s.result.lastFailure = iso;
        s.result.lastFailureCause = r.reason;
        const inGrace = s.result.firstSuccess === null && now.getTime() - startedAt < hc.gracePeriodSeconds * 1000;
        if (inGrace) return; // failures before the first success are ignored during the grace period
        s.result.alive = false;
        s.result.consecutiveFailures++;
      }
      s.known = true;
      if (wasAlive !== s.result.alive) deps.onChange(s.result.alive);
      if (!r.ok && hc.maxConsecutiveFailures > 0 && s.result.consecutiveFailures >= hc.maxConsecutiveFailures) {
        deps.onUnhealthy(r.reason, s.result.consecutiveFailures);
      }
    };
    const loop = (delayMs: number): void => {
      timers.push(
        deps.clock.after(delayMs, () => {
          if (stopped) return;
          void check().finally(() => {
            if (!stopped) loop(Math.max(1, hc.intervalSeconds) * 1000);
          });
        }),
      );
    };
    loop(Math.min(hc.delaySeconds, hc.intervalSeconds) * 1000);
  });

  return {
    results: () => state.filter((s) => s.known).map((s) => ({ ...s.result })),
    healthy: () => state.every((s) => s.known && s.result.alive),
    stop() {
      stopped = true;
      timers.forEach((t) => t.cancel());
    },
  };
}
