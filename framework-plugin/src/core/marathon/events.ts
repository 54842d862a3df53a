/** A Marathon event as sent on `/v2/events`: `eventType`, `timestamp`, and its fields. */
export interface MarathonEvent {
  readonly eventType: string;
  readonly timestamp: string;
  readonly [field: string]: unknown;
}

/** Subscribers get every event published after they subscribed. */
export interface EventBus {
  publish(eventType: string, fields: Record<string, unknown>): MarathonEvent;
  /** Returns the unsubscribe function. */
  subscribe(listener: (event: MarathonEvent) => void): () => void;
}

/** An in-process event bus; a throwing listener never stops the others. */
export function createEventBus(now: () => Date = () => new Date()): EventBus {
  const listeners = new Set<(event: MarathonEvent) => void>();
  return {
    publish(eventType, fields) {
      const event: MarathonEvent = Object.freeze({ ...fields, eventType, timestamp: now().toISOString() });
      for (const l of [...listeners]) {
        try {
          l(event);
        } catch {
          // a broken subscriber (e.g. a closed SSE socket) must not break the cluster
        }
      }
      return event;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}
