import { randomUUID } from 'node:crypto';
import type { Deployment } from '../../core/marathon/views.js';

/** Marathon's deployment actions used by the local cluster. */
export type DeploymentAction = 'StartApplication' | 'ScaleApplication' | 'RestartApplication' | 'StopApplication';

/** A one-step deployment plan for one app. */
export function createDeployment(appId: string, action: DeploymentAction, version: string): Deployment {
  return {
    id: randomUUID(),
    version,
    affectedApps: [appId],
    affectedPods: [],
    steps: [{ actions: [{ action, app: appId }] }],
    currentActions: [{ action, app: appId, readinessCheckResults: [] }],
    currentStep: 1,
    totalSteps: 1,
  };
}

/** The `plan` object carried by deployment events. */
export function planOf(d: Deployment): Record<string, unknown> {
  return { id: d.id, steps: d.steps.map((s) => s.actions.map((a) => ({ action: a.action, app: a.app }))).flat(), version: d.version };
}
