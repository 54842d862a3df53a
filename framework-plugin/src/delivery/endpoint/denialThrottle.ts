/** What {@link createDenialThrottle} reports. */
export interface DenialThrottleInit<D> {
  /** Denials reported one by one per key and second; the rest are counted. Default 10. */
  perSecond?: number;
  /** One denial, in full. */
  report(denial: D): void;
  /** `count` more denials like `sample` were counted, not reported, in the last interval. */
  summary(sample: D, count: number): void;
  now?: () => number;
}

/**
 * Keeps the audit (and the events made from it) readable under a flood:
 * per key (e.g. code and app), the first denials of each second are reported
 * whole, the rest counted and reported as one summary line when the second
 * ends. Never silent: every denial is in a line or in a count.
 */
export function createDenialThrottle<D>(init: DenialThrottleInit<D>, keyOf: (d: D) => string): { deny(d: D): void; flush(): void } {
  const perSecond = init.perSecond ?? 10;
  const now = init.now ?? Date.now;
  const windows = new Map<string, { start: number; shown: number; hidden: number; sample: D }>();
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    const t = now();
    for (const [key, w] of windows) {
      if (t - w.start < 1000) continue;
      if (w.hidden > 0) init.summary(w.sample, w.hidden);
      windows.delete(key);
    }
    if (windows.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  return {
    deny(d) {
      const key = keyOf(d);
      let w = windows.get(key);
      if (!w) {
        w = { start: now(), shown: 0, hidden: 0, sample: d };
        windows.set(key, w);
        if (windows.size > 10_000) flush(); // bounded: old windows go
      }
      if (w.shown < perSecond) {
        w.shown++;
        init.report(d);
      } else w.hidden++;
      timer ??= setInterval(flush, 1000).unref();
    },
    flush,
  };
}
