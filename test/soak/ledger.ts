// What the soak saw, as it happened: every request by kind and outcome (and
// the 10-second timeline the plot draws), every violation of an invariant.

/** Counts requests and errors, per kind and per 10-second bucket. */
export class Ledger {
  readonly started = Date.now();
  readonly requests: Record<string, Record<string, number>> = {};
  readonly violations: string[] = [];
  private readonly buckets = new Map<number, { requests: number; errors: number; faults: string[] }>();

  private bucket(at = Date.now()): { requests: number; errors: number; faults: string[] } {
    const second = Math.floor((at - this.started) / 10_000) * 10;
    let b = this.buckets.get(second);
    if (!b) this.buckets.set(second, (b = { requests: 0, errors: 0, faults: [] }));
    return b;
  }

  /** One request of `kind` ended with `outcome` (an HTTP status, or `error:<code>`); `ok` says whether it counts as an error on the plot. */
  count(kind: string, outcome: string, ok: boolean): void {
    const k = (this.requests[kind] ??= {});
    k[outcome] = (k[outcome] ?? 0) + 1;
    const b = this.bucket();
    b.requests++;
    if (!ok) b.errors++;
  }

  fault(kind: string): void {
    this.bucket().faults.push(kind);
  }

  /** An invariant broken: kept for the report and printed at once. */
  violate(what: string): void {
    this.violations.push(what);
    process.stdout.write(`VIOLATION ${what}\n`);
  }

  /** Seconds since the start. */
  second(at = Date.now()): number {
    return Math.round((at - this.started) / 1000);
  }

  timeline(): Array<{ second: number; requests: number; errors: number; faults: string[] }> {
    return [...this.buckets.entries()].sort((a, b) => a[0] - b[0]).map(([second, b]) => ({ second, ...b }));
  }
}

/** Waits `ms`, or less when `stop()` says the run is over. */
export async function pause(ms: number, stop: () => boolean = () => false): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until && !stop()) await new Promise((r) => setTimeout(r, Math.min(250, until - Date.now())));
}
