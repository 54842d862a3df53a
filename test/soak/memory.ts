import { readdirSync, readFileSync } from 'node:fs';

// Resident memory of the long-running processes, sampled: per process kind
// the longest-lived instance's series, its least-squares slope over the
// run's second half, and whether that growth is bounded.

/** RSS of a process (and, with `group`, every process of its group), MiB; undefined when gone. */
export function rssMiB(pid: number, group = false): number | undefined {
  const one = (p: number): number | undefined => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : undefined;
    } catch {
      return undefined;
    }
  };
  const own = one(pid);
  if (!group || own === undefined) return own;
  let sum = own;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === pid) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pid) sum += one(Number(d)) ?? 0;
    } catch {
      // gone
    }
  }
  return sum;
}

/** Least-squares slope of (t ms, y) in y per hour. */
export function slopePerHour(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 3_600_000;
}

/** Samples per process kind and pid. */
export class MemorySampler {
  private readonly series = new Map<string, Map<number, Array<[number, number]>>>();

  sample(kind: string, pid: number, group = false): void {
    const rss = rssMiB(pid, group);
    if (rss === undefined) return;
    const byPid = this.series.get(kind) ?? new Map<number, Array<[number, number]>>();
    this.series.set(kind, byPid);
    const s = byPid.get(pid) ?? [];
    byPid.set(pid, s);
    s.push([Date.now(), rss]);
  }

  /**
   * Per kind: the longest-lived instance's first, last and highest RSS and
   * its slope over the second half of its samples. Unbounded: it still grows
   * at the end of the run, both ways of seeing it agreeing: the slope would
   * add more than `boundMiBPerHour` in an hour, and the last third's peak is
   * above the middle third's by more than 10 % + 8 MiB (a process warming up
   * levels off; a leak keeps climbing). A series shorter than `minSpanMs`
   * (a process replaced by a deployment or a fault) is not judged.
   */
  report(
    boundMiBPerHour: number,
    minSpanMs: number,
  ): Record<string, { samples: number; firstMiB: number; lastMiB: number; maxMiB: number; slopeMiBPerHour: number; bounded: boolean; judged: boolean }> {
    const out: ReturnType<MemorySampler['report']> = {};
    for (const [kind, byPid] of this.series) {
      const longest = [...byPid.values()].sort((a, b) => b.length - a.length)[0]!;
      const half = longest.slice(Math.floor(longest.length / 2));
      const slope = slopePerHour(half);
      const third = Math.floor(longest.length / 3);
      const peak = (xs: Array<[number, number]>): number => Math.max(...xs.map((p) => p[1]));
      const spanMs = longest.at(-1)![0] - longest[0]![0];
      const climbing = third > 0 && peak(longest.slice(2 * third)) > peak(longest.slice(third, 2 * third)) * 1.1 + 8;
      out[kind] = {
        samples: longest.length,
        firstMiB: round(longest[0]![1]),
        lastMiB: round(longest.at(-1)![1]),
        maxMiB: round(peak(longest)),
        slopeMiBPerHour: round(slope),
        bounded: spanMs < minSpanMs || !(slope > boundMiBPerHour && climbing),
        judged: spanMs >= minSpanMs,
      };
    }
    return out;
  }
}

const round = (x: number): number => Math.round(x * 10) / 10;
