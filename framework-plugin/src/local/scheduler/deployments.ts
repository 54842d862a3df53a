import { randomUUID } from 'node:crypto';
import type { EventBus } from '../../core/marathon/events.js';
import { parentOf } from '../../core/marathon/groups.js';
import type { ApiRequest, Deployment } from '../../core/marathon/views.js';
import { appView, latestVersion, type AppEntry } from './appEntry.js';

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

/** The `currentStep` object of deployment events. */
const currentStepOf = (d: Deployment): { actions: Array<{ type: string; app: string }> } => ({
  actions: d.currentActions.map((a) => ({ type: a.action, app: a.app })),
});

/**
 * Opens a deployment for an app in Marathon's order of events:
 * `api_post_event` (when an API request made it), `group_change_success`,
 * a superseded deployment's failure, then `deployment_info`, before any task moves.
 */
export function startDeployment(
  events: Pick<EventBus, 'publish'>,
  e: AppEntry,
  action: DeploymentAction,
  request: ApiRequest | undefined,
  before: AppEntry['before'],
): Deployment {
  if (request) events.publish('api_post_event', { clientIp: request.clientIp, uri: request.uri, appDefinition: appView(e, false) });
  events.publish('group_change_success', { groupId: parentOf(e.app.id), version: latestVersion(e) });
  if (e.deployment) {
    const old = e.deployment;
    events.publish('deployment_step_failure', { plan: planOf(old), currentStep: currentStepOf(old) });
    events.publish('deployment_failed', { id: old.id, plan: planOf(old), reason: 'superseded by a newer deployment' });
  }
  // A rollback of this deployment returns to what was there just before it (nothing: it created the app).
  e.before = before;
  const d = createDeployment(e.app.id, action, latestVersion(e));
  e.deployment = d;
  events.publish('deployment_info', { plan: planOf(d), currentStep: currentStepOf(d) });
  return d;
}

/** Closes an app's open deployment (if any) as succeeded or failed, with its events. */
export function endDeployment(events: Pick<EventBus, 'publish'>, e: AppEntry, ok: boolean, reason?: string): void {
  const d = e.deployment;
  if (!d) return;
  e.deployment = undefined;
  e.before = undefined;
  events.publish(ok ? 'deployment_step_success' : 'deployment_step_failure', { plan: planOf(d), currentStep: currentStepOf(d) });
  events.publish(ok ? 'deployment_success' : 'deployment_failed', { id: d.id, plan: planOf(d), ...(reason ? { reason } : {}) });
}
