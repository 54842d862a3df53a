/** What one task of an app costs the agent. */
export interface TaskCost {
  readonly cpus: number;
  readonly mem: number;
  readonly ports: number;
}

/** What the agent offers tasks in all. */
export interface Offer {
  readonly cpus: number;
  readonly mem: number;
  /** Host ports in its range. */
  readonly ports: number;
  /** At most this many tasks at once, whatever they ask for. */
  readonly tasks: number;
}

/** The agent's resources: what live tasks hold, as totals, so a check is O(1) however many apps there are. */
export interface ResourceLedger {
  /** Whether one more task of this cost fits what is left. */
  fits(cost: TaskCost): boolean;
  /** A task launched: its cost (as launched) is held until released. */
  hold(taskId: string, cost: TaskCost): void;
  /** A task ended: what it held is free again (once; unknown ids are ignored). */
  release(taskId: string): void;
  /** What is held now. */
  used(): { cpus: number; mem: number; ports: number; tasks: number };
}

/** A {@link ResourceLedger} over `offer`. Pure. */
export function createResourceLedger(offer: Offer): ResourceLedger {
  const used = { cpus: 0, mem: 0, ports: 0, tasks: 0 };
  const costs = new Map<string, TaskCost>();
  return {
    fits: (c) => used.tasks < offer.tasks && used.cpus + c.cpus <= offer.cpus + 1e-9 && used.mem + c.mem <= offer.mem && used.ports + c.ports <= offer.ports,
    hold(taskId, c) {
      if (costs.has(taskId)) return;
      costs.set(taskId, c);
      used.cpus += c.cpus;
      used.mem += c.mem;
      used.ports += c.ports;
      used.tasks++;
    },
    release(taskId) {
      const c = costs.get(taskId);
      if (!c) return;
      costs.delete(taskId);
      used.cpus -= c.cpus;
      used.mem -= c.mem;
      used.ports -= c.ports;
      used.tasks--;
    },
    used: () => ({ ...used }),
  };
}
