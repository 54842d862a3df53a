import { meetsAll, readConstraints, type Placement } from '../../core/marathon/constraints.js';
import type { ValidatedApp } from '../../core/marathon/appDefinition.js';
import type { Cgroups } from '../launcher/cgroups.js';
import type { DeliveryModes } from '../../delivery/deliveryMode.js';
import { createResourceLedger, type Offer, type ResourceLedger, type TaskCost } from './resourceLedger.js';

/** One agent of the local cluster, as Mesos knows it. */
export interface LocalAgentSpec {
  /** Its Mesos agent id (`<master uuid>-S<n>`, as tasks name it in `slaveId`). */
  readonly id: string;
  /** Its address (a loopback address of its own, 127.0.0.x): `task.host`. */
  readonly hostname: string;
  /** Its Mesos attributes (text), for `attribute` constraints. */
  readonly attributes: Readonly<Record<string, string>>;
  /** Its per-task cgroups (its own root); absent: tasks run without. */
  readonly cgroups?: Cgroups;
  /** How tasks on it get credentials (its own sip agent); absent: the cluster's. */
  readonly delivery?: DeliveryModes;
  /** What this agent adds to its tasks' environment (its own metadata endpoint). */
  readonly env?: Readonly<Record<string, string>>;
}

/** An agent with what its tasks hold, and whether it is gone. */
export interface AgentSlot {
  readonly spec: LocalAgentSpec;
  readonly ledger: ResourceLedger;
  gone: boolean;
}

/** A slot per agent, each offering `offer`. */
export const agentSlots = (specs: readonly LocalAgentSpec[], offer: Offer): AgentSlot[] =>
  specs.map((spec) => ({ spec, ledger: createResourceLedger(offer), gone: false }));

const placementOf = (s: LocalAgentSpec): Placement => ({ hostname: s.hostname, attributes: s.attributes });

/**
 * Where the next task of `app` goes: an agent still there, with room for
 * `cost`, that meets every constraint of the app given where its tasks
 * already are (`placed`, their agents). Among those, the one with fewest of
 * the app's tasks, then fewest tasks in all, then the first: tasks spread
 * as Marathon's offers tend to spread them. Undefined: the task waits. Pure.
 */
export function placeTask(app: ValidatedApp, cost: TaskCost, placed: readonly LocalAgentSpec[], slots: readonly AgentSlot[]): AgentSlot | undefined {
  const { constraints } = readConstraints((app as { constraints?: unknown }).constraints);
  const already = placed.map(placementOf);
  const mine = (s: AgentSlot): number => placed.filter((p) => p.id === s.spec.id).length;
  let best: AgentSlot | undefined;
  for (const s of slots) {
    if (s.gone || !s.ledger.fits(cost) || !meetsAll(already, placementOf(s.spec), constraints)) continue;
    if (!best || mine(s) < mine(best) || (mine(s) === mine(best) && s.ledger.used().tasks < best.ledger.used().tasks)) best = s;
  }
  return best;
}
