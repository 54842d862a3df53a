/** A read shared by concurrent callers (one in flight), its answer reused for a short floor. */
export interface SharedRead<T> {
  /**
   * The answer of a read that started no earlier than `notBefore` (ms;
   * default: `floorMs` ago): the one in flight if it qualifies, else a new one.
   */
  get(notBefore?: number): Promise<{ value: T; startedAt: number }>;
}

/**
 * Shares `read` (e.g. the master's `GET_TASKS`, every task of the cluster)
 * among the requests of a burst: while one is in flight the others wait for
 * it, and its answer serves for `floorMs` after it started. A caller that
 * must see what happened after a moment asks with `notBefore`. A failed read
 * is not kept.
 */
export function sharedRead<T>(read: () => Promise<T>, floorMs: number, now: () => number = Date.now): SharedRead<T> {
  let last: { startedAt: number; answer: Promise<{ value: T; startedAt: number }> } | undefined;
  return {
    get(notBefore = now() - floorMs) {
      if (last && last.startedAt >= notBefore) return last.answer;
      const startedAt = now();
      const entry = { startedAt, answer: read().then((value) => ({ value, startedAt })) };
      last = entry;
      entry.answer.catch(() => {
        if (last === entry) last = undefined;
      });
      return entry.answer;
    },
  };
}
