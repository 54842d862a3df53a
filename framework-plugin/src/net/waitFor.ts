import { setTimeout as sleep } from 'node:timers/promises';
import { SipError } from '../core/errors/SipError.js';

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** What is awaited, for the timeout message ("moto server on 127.0.0.1:5000"). */
  what: string;
  /** Give up after this many milliseconds. */
  timeoutMs: number;
  /** Pause between polls. */
  intervalMs?: number;
  /** Stops waiting at once when it returns an error (e.g. the process died). */
  abortIf?: () => Error | undefined;
}

/**
 * Polls `check` until it resolves truthy, with a hard timeout.
 *
 * Readiness is always polled, never assumed after a fixed sleep.
 * @throws SipError `SIP_WAIT_TIMEOUT` naming `what` and the last failure.
 */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, options: WaitForOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 50;
  let last: unknown;
  for (;;) {
    const aborted = options.abortIf?.();
    if (aborted) throw aborted;
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new SipError('SIP_WAIT_TIMEOUT', `timed out after ${options.timeoutMs} ms waiting for ${options.what}${why}`, {
        cause: last,
      });
    }
    await sleep(interval);
  }
}
