/** A pending timer of a {@link Clock}. */
export type Timer = { readonly cancel: () => void };

/**
 * Time for the scheduler: the current instant and one-shot timers. Injected
 * everywhere a decision depends on time (backoff, health checks, the
 * reconcile tick), so tests advance it instead of sleeping.
 */
export interface Clock {
  now(): Date;
  /** Runs `fn` once, `ms` from now. */
  after(ms: number, fn: () => void): Timer;
}

/** The real clock: `Date` and Node's timers. */
export const systemClock: Clock = {
  now: () => new Date(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/** Runs `fn` every `ms` on `clock` until the returned timer is cancelled. */
export function every(clock: Clock, ms: number, fn: () => void): Timer {
  let current: Timer | undefined;
  let cancelled = false;
  const arm = (): void => {
    current = clock.after(ms, () => {
      if (cancelled) return;
      fn();
      if (!cancelled) arm();
    });
  };
  arm();
  return {
    cancel: () => {
      cancelled = true;
      current?.cancel();
    },
  };
}
