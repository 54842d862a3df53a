import { subscribe, type StreamEvent, type SubscribeOptions } from './eventStream.js';

/** Options of {@link followEvents}. */
export interface FollowInit extends SubscribeOptions {
  url: string;
  /** Each event, in order. */
  onEvent(event: StreamEvent): void;
  /**
   * After every (re)attachment, before the events that follow: what may
   * have been missed while detached must be read again (Marathon's stream
   * has no `Last-Event-ID` resumption, Jetty's servlet does not support it).
   */
  onAttached(): Promise<void> | void;
  /** A lost stream, with the delay before the next try (for logs). */
  onLost?(err: Error, retryInMs: number): void;
  /** First and largest delay between attempts, ms (default 500 and 10 000, doubling). */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** A running {@link followEvents}. */
export interface EventFollower {
  /** Stops following (the open stream is closed). */
  stop(): void;
}

/**
 * Follows Marathon's event stream for as long as it runs: reconnects with a
 * doubling delay when the stream drops, goes silent or is refused, and asks
 * for a full resync (`onAttached`) after each attachment.
 */
export function followEvents(init: FollowInit): EventFollower {
  let running = true;
  let current: Awaited<ReturnType<typeof subscribe>> | undefined;
  let wake: () => void = () => undefined;
  const sleep = (ms: number): Promise<void> =>
    new Promise((r) => {
      const t = setTimeout(r, ms);
      wake = () => (clearTimeout(t), r());
    });
  void (async () => {
    let delay = init.minDelayMs ?? 500;
    while (running) {
      try {
        current = await subscribe(init.url, init);
        if (!running) break;
        await init.onAttached();
        delay = init.minDelayMs ?? 500;
        for (;;) {
          const e = await current.next(() => true, 3_600_000).catch((err: { code?: string }) => (err.code === 'SIP_WAIT_TIMEOUT' ? undefined : Promise.reject(err)));
          if (e) init.onEvent(e);
        }
      } catch (err) {
        current?.close();
        current = undefined;
        if (!running) break;
        init.onLost?.(err as Error, delay);
        await sleep(delay);
        delay = Math.min(delay * 2, init.maxDelayMs ?? 10_000);
      }
    }
  })();
  return {
    stop() {
      running = false;
      current?.close();
      wake();
    },
  };
}
