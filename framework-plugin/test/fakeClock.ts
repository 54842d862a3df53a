import type { Clock, Timer } from '../src/local/scheduler/clock.js';

/** A clock tests move by hand: timers run in order as time is advanced, with pending promises settled between them. */
export interface FakeClock extends Clock {
  /** Moves time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): Promise<void>;
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

export function createFakeClock(start = Date.parse('2026-11-29T00:00:00Z')): FakeClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => new Date(now),
    after(ms, fn): Timer {
      const id = seq++;
      timers.set(id, { at: now + ms, fn });
      return { cancel: () => void timers.delete(id) };
    },
    async advance(ms) {
      const until = now + ms;
      for (;;) {
        await settle();
        const due = [...timers].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = until;
      await settle();
    },
  };
}
