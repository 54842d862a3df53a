import type { SoakReport } from './types.js';

// The soak run's report as an operator reads it: `report.md` (verdict first,
// then the measures beside their bounds, the violations last) and `report.svg`
// (requests and errors over time, each fault a marker). Pure: the runner
// writes the files. The violations list is the verdict; the tables only show
// where each figure stands against its bound.

/** The plot's file name, beside `report.md`. */
const PLOT_FILE = 'report.svg';

// ---- formatting -------------------------------------------------------------

/** A whole number with thousands separators: `12,345`. */
function int(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A length in seconds: `45 s`, `12 min 5 s`, `2 h 3 min`, `1 h 0 min 5 s`. */
function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  const t = Math.round(seconds);
  const [h, m, s] = [Math.floor(t / 3600), Math.floor((t % 3600) / 60), t % 60];
  if (!h && !m) return `${s} s`;
  const parts = h ? [`${h} h`, `${m} min`] : [`${m} min`];
  if (s) parts.push(`${s} s`);
  else if (h && !m) parts.pop();
  return parts.join(' ');
}

/** Milliseconds: `850 ms`, `1.2 s`, `2 min 5 s`; null: not recovered. */
function ms(value: number | null): string {
  if (value === null) return 'not recovered';
  if (!Number.isFinite(value)) return String(value);
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(1)} s`;
  return duration(value / 1000);
}

/** Bytes in binary units: `512 B`, `3.4 MiB`. */
function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${int(v)} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** `1 violation`, `3 violations`. */
function plural(n: number, word: string): string {
  return `${int(n)} ${word}${n === 1 ? '' : 's'}`;
}

// ---- Markdown ---------------------------------------------------------------

/** Text from the run (ids, messages) made inert in Markdown: one line, no HTML, no table breaks. */
function md(text: string): string {
  return text
    .replace(/\r?\n|\r/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|');
}

/** A GitHub table; the first column left-aligned, the others as `align` says (`r`: right). */
function table(head: string[], rows: string[][], align: string = ''): string {
  const rule = head.map((_, i) => (align[i] === 'r' ? '---:' : '---'));
  return [head, rule, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** `yes`, or a bold `no` that an operator's eye finds. */
function ok(good: boolean): string {
  return good ? 'yes' : '**no**';
}

function summary(r: SoakReport): string {
  const u = r.uploads;
  const byMode = new Map<string, number>();
  for (const app of r.cluster.apps) byMode.set(app.mode, (byMode.get(app.mode) ?? 0) + 1);
  const modes = [...byMode].map(([mode, n]) => `${int(n)} ${md(mode)}`).join(', ');
  const instances = r.cluster.apps.reduce((sum, app) => sum + app.instances, 0);
  const gap = r.credentialGap;
  const gapAt = gap.atSecond === null ? '' : ` (from ${duration(gap.atSecond)})`;
  const names = (list: string[]): string => (list.length ? `${int(list.length)}: ${list.map(md).join(', ')}` : '0');
  const rows: string[][] = [
    ['Duration', `${duration(r.durationSeconds)} (planned ${duration(r.plannedMinutes * 60)})`, '', ''],
    ['Window', `${md(r.startedAt)} → ${md(r.endedAt)}`, '', ''],
    [
      'Cluster',
      `${plural(r.cluster.agents, 'agent')}, default mode ${md(r.cluster.defaultMode)}, ${plural(r.cluster.apps.length, 'app')}` +
        `${modes ? ` (${modes})` : ''}, ${plural(instances, 'instance')}`,
      '',
      '',
    ],
    [
      'Uploads acknowledged / verified',
      `${int(u.acknowledged)} / ${int(u.verified)} (${bytes(u.bytesAcknowledged)} acknowledged)`,
      'all',
      ok(u.verified === u.acknowledged),
    ],
    ['Uploads lost (201, not stored)', int(u.lost), '0', ok(u.lost === 0)],
    ['Uploads torn (wrong bytes)', int(u.torn), '0', ok(u.torn === 0)],
    ['Uploads duplicated', int(u.duplicated), '0', ok(u.duplicated === 0)],
    // Stored, but the client never heard 201 (its connection died after the store): allowed, shown.
    ['Uploads stray (stored, never acknowledged)', int(u.stray), '—', ''],
    ['Leaks', int(r.leaks.length), '0', ok(r.leaks.length === 0)],
    ['Apps lost', names(r.lost.apps), '0', ok(r.lost.apps.length === 0)],
    ['Secrets lost', names(r.lost.secrets), '0', ok(r.lost.secrets.length === 0)],
    ['Longest credential gap', `${ms(gap.longestMs)}${gapAt}`, ms(gap.boundMs), ok(gap.longestMs <= gap.boundMs)],
  ];
  return table(['Measure', 'Value', 'Bound', 'Within bound'], rows);
}

/** HTTP statuses in numeric order, then the rest (`error:…`) by name. */
function byOutcome(a: string, b: string): number {
  const na = /^\d+$/.test(a) ? Number(a) : Infinity;
  const nb = /^\d+$/.test(b) ? Number(b) : Infinity;
  return na !== nb ? na - nb : a < b ? -1 : a > b ? 1 : 0;
}

function requests(r: SoakReport): string {
  const kinds = Object.keys(r.requests);
  if (!kinds.length) return 'No requests were made.';
  const outcomes = [...new Set(kinds.flatMap((k) => Object.keys(r.requests[k] ?? {})))].sort(byOutcome);
  const totals = new Map<string, number>();
  let all = 0;
  const rows = kinds.map((kind) => {
    const counts = r.requests[kind] ?? {};
    let total = 0;
    const cells = outcomes.map((o) => {
      const n = counts[o] ?? 0;
      total += n;
      totals.set(o, (totals.get(o) ?? 0) + n);
      return n ? int(n) : '·';
    });
    all += total;
    return [md(kind), ...cells, int(total)];
  });
  rows.push(['**all**', ...outcomes.map((o) => `**${int(totals.get(o) ?? 0)}**`), `**${int(all)}**`]);
  return table(['Kind', ...outcomes.map(md), 'Total'], rows, '_' + 'r'.repeat(outcomes.length + 1));
}

function faults(r: SoakReport): string {
  const kinds = Object.keys(r.faults);
  if (!kinds.length) return 'No faults were injected.';
  const rows = kinds.map((kind) => {
    const f = r.faults[kind]!;
    const missed = f.recoveryMs.filter((v) => v === null).length;
    const recovered = `${int(f.recoveryMs.length - missed)} / ${int(f.recoveryMs.length)}${missed ? ` (${int(missed)} not recovered)` : ''}`;
    // One fault not recovered makes the worst case unbounded, whatever the others did.
    const max = missed ? null : f.maxMs;
    const within = missed === 0 && (f.maxMs === null || f.maxMs <= f.boundMs);
    return [md(kind), int(f.count), recovered, ms(f.p50Ms), ms(max), ms(f.boundMs), ok(within)];
  });
  return table(['Fault', 'Count', 'Recovered', 'Recovery p50', 'Max', 'Bound', 'Within bound'], rows, '_rrrrrr');
}

function memory(r: SoakReport): string {
  const kinds = Object.keys(r.memory);
  if (!kinds.length) return 'No memory samples.';
  const rows = kinds.map((kind) => {
    const m = r.memory[kind]!;
    const slope = `${m.slopeMiBPerHour >= 0 ? '+' : ''}${m.slopeMiBPerHour.toFixed(2)}`;
    return [
      md(kind),
      int(m.samples),
      m.firstMiB.toFixed(1),
      m.lastMiB.toFixed(1),
      m.maxMiB.toFixed(1),
      slope,
      m.judged === false ? 'not judged (short-lived)' : ok(m.bounded),
    ];
  });
  return table(['Process', 'Samples', 'First MiB', 'Last MiB', 'Max MiB', 'Slope MiB/h', 'Bounded'], rows, '_rrrrrr');
}

/**
 * The soak report as GitHub Markdown (`report.md`): a one-line verdict (PASS, or FAIL with the number of
 * violations), the summary against its bounds, requests by kind and outcome, faults with their recovery,
 * memory per process, leaks if any, the violations, and the plot (`report.svg`) as an image.
 */
export function renderMarkdown(r: SoakReport): string {
  const n = r.violations.length;
  const verdict = n === 0 ? '**PASS**: no invariant broken.' : `**FAIL**: ${plural(n, 'violation')}.`;
  const parts = [
    '# Soak report',
    verdict,
    '## Summary',
    summary(r),
    '## Requests',
    requests(r),
    '## Faults',
    'Recovery: from the fault’s end until every app runs its declared instances and EdgeLB routes to each.',
    faults(r),
    '## Memory',
    'Resident memory; slope by least squares over the run’s second half.',
    memory(r),
  ];
  const skipped = Object.entries(r.notInjected ?? {});
  if (skipped.length) parts.push('## Faults not injected', skipped.map(([k, why]) => `- ${md(k)}: ${md(why)}`).join('\n'));
  if (r.leaks.length) parts.push('## Leaks', r.leaks.map((l) => `- ${md(l.what)} in ${md(l.where)}`).join('\n'));
  parts.push('## Violations', n ? r.violations.map((v) => `- ${md(v)}`).join('\n') : 'none');
  parts.push('## Timeline', `![Requests and errors per bucket, faults marked](${PLOT_FILE})`);
  return parts.join('\n\n') + '\n';
}

// ---- SVG --------------------------------------------------------------------

const WIDTH = 900;
const HEIGHT = 360;
const PLOT = { left: 64, right: WIDTH - 24, top: 56, bottom: HEIGHT - 48 };
const COLOR = { requests: '#1f6feb', errors: '#d1242f', fault: '#6e7781', axis: '#24292f', grid: '#d0d7de' };

/** Text or an attribute value safe in XML. */
function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** A coordinate, short. */
function c(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

/** The first of 1, 2, 5 × 10ⁿ that cuts [0, max] into at most `count` steps. */
function niceStep(max: number, count: number): number {
  const raw = max / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

/** Time ticks in round seconds or minutes. */
function timeStep(span: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  return steps.find((s) => span / s <= 10) ?? niceStep(span, 10);
}

/** A count that is a number, never NaN or negative. */
function count(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** A fault's short label: the kind, cut to fit above the plot. */
function label(kind: string): string {
  return kind.length > 18 ? `${kind.slice(0, 17)}…` : kind;
}

/**
 * The soak timeline as a self-contained SVG (`report.svg`, 900×360): requests and errors per bucket as two lines,
 * each fault a dashed vertical marker labelled with its kind, time on x (seconds, or minutes past two minutes), counts on y,
 * a legend and a title. An empty timeline draws the axes and "no data".
 */
export function renderSvg(r: SoakReport): string {
  const tl = [...r.timeline].sort((a, b) => a.second - b.second);
  const bucket = tl.length > 1 ? tl[1]!.second - tl[0]!.second : 10;
  const lastSecond = tl.length ? tl[tl.length - 1]!.second : 0;
  const span = Math.max(lastSecond, count(r.durationSeconds), tl.length ? 10 : 60);
  const minutes = span > 120;
  const xStep = timeStep(span);
  const xMax = span;
  const peak = Math.max(1, ...tl.map((b) => Math.max(count(b.requests), count(b.errors))));
  const yStep = Math.max(1, niceStep(peak, 5));
  const yMax = Math.ceil(peak / yStep) * yStep;
  const x = (s: number): number => PLOT.left + (Math.min(Math.max(s, 0), xMax) / xMax) * (PLOT.right - PLOT.left);
  const y = (n: number): number => PLOT.bottom - (count(n) / yMax) * (PLOT.bottom - PLOT.top);

  const title = `Soak run: requests and errors per ${bucket} s, faults marked`;
  const verdict = r.violations.length ? `FAIL (${plural(r.violations.length, 'violation')})` : 'PASS';
  const subtitle = `${r.startedAt} → ${r.endedAt} · ${verdict}`;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
      `font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${PLOT.left}" y="22" font-size="15" font-weight="600" fill="${COLOR.axis}">${xml(title)}</text>`,
    `<text x="${PLOT.left}" y="38" fill="${COLOR.fault}">${xml(subtitle)}</text>`,
  ];

  // Grid and y axis.
  for (let v = 0; v <= yMax; v += yStep) {
    out.push(`<line x1="${PLOT.left}" y1="${c(y(v))}" x2="${PLOT.right}" y2="${c(y(v))}" stroke="${COLOR.grid}" stroke-width="1"/>`);
    out.push(`<text x="${PLOT.left - 6}" y="${c(y(v) + 4)}" text-anchor="end" fill="${COLOR.axis}">${int(v)}</text>`);
  }
  // X axis ticks.
  for (let s = 0; s <= xMax; s += xStep) {
    const tick = minutes ? c(s / 60) : String(s);
    out.push(`<line x1="${c(x(s))}" y1="${PLOT.bottom}" x2="${c(x(s))}" y2="${PLOT.bottom + 5}" stroke="${COLOR.axis}"/>`);
    out.push(`<text x="${c(x(s))}" y="${PLOT.bottom + 18}" text-anchor="middle" fill="${COLOR.axis}">${tick}</text>`);
  }
  out.push(
    `<line x1="${PLOT.left}" y1="${PLOT.bottom}" x2="${PLOT.right}" y2="${PLOT.bottom}" stroke="${COLOR.axis}"/>`,
    `<line x1="${PLOT.left}" y1="${PLOT.top}" x2="${PLOT.left}" y2="${PLOT.bottom}" stroke="${COLOR.axis}"/>`,
    `<text x="${c((PLOT.left + PLOT.right) / 2)}" y="${HEIGHT - 10}" text-anchor="middle" fill="${COLOR.axis}">` +
      `time since start (${minutes ? 'min' : 's'})</text>`,
    `<text transform="translate(16 ${c((PLOT.top + PLOT.bottom) / 2)}) rotate(-90)" text-anchor="middle" fill="${COLOR.axis}">` + `per ${bucket} s</text>`,
  );

  if (!tl.length) {
    out.push(
      `<text x="${c((PLOT.left + PLOT.right) / 2)}" y="${c((PLOT.top + PLOT.bottom) / 2)}" text-anchor="middle" font-size="16" ` +
        `fill="${COLOR.fault}">no data</text>`,
    );
  } else {
    const line = (pick: (b: (typeof tl)[number]) => number, color: string, name: string): void => {
      const points = tl.map((b) => `${c(x(b.second))},${c(y(pick(b)))}`).join(' ');
      out.push(`<polyline class="${name}" points="${points}" fill="none" stroke="${color}" stroke-width="1.6" stroke-linejoin="round"/>`);
      if (tl.length === 1) out.push(`<circle cx="${c(x(tl[0]!.second))}" cy="${c(y(pick(tl[0]!)))}" r="2.5" fill="${color}"/>`);
    };
    line((b) => b.requests, COLOR.requests, 'requests');
    line((b) => b.errors, COLOR.errors, 'errors');
    // Fault markers over the lines, labels haloed, reading upward from the plot's top; faults in one bucket side by side, leftward.
    for (const b of tl) {
      b.faults.forEach((kind, i) => {
        const fx = x(b.second);
        // Glyphs sit left of a label's anchor; at the y axis the labels go right of the marker.
        const tx = fx - 4 - i * 13 - 11 < PLOT.left ? fx + 15 + i * 13 : fx - 4 - i * 13;
        out.push(
          `<g class="fault"><title>${xml(`${kind} at ${duration(b.second)}`)}</title>` +
            `<line x1="${c(fx)}" y1="${PLOT.top}" x2="${c(fx)}" y2="${PLOT.bottom}" stroke="${COLOR.fault}" stroke-dasharray="4 3"/>` +
            `<text transform="translate(${c(tx)} ${PLOT.top + 4}) rotate(-90)" text-anchor="end" fill="${COLOR.axis}" ` +
            `stroke="#ffffff" stroke-width="3" paint-order="stroke">` +
            `${xml(label(kind))}</text></g>`,
        );
      });
    }
  }

  // Legend, top right.
  const lx = PLOT.right - 250;
  out.push(
    `<g class="legend">` +
      `<line x1="${lx}" y1="18" x2="${lx + 20}" y2="18" stroke="${COLOR.requests}" stroke-width="2"/>` +
      `<text x="${lx + 25}" y="22" fill="${COLOR.axis}">requests</text>` +
      `<line x1="${lx + 90}" y1="18" x2="${lx + 110}" y2="18" stroke="${COLOR.errors}" stroke-width="2"/>` +
      `<text x="${lx + 115}" y="22" fill="${COLOR.axis}">errors</text>` +
      `<line x1="${lx + 170}" y1="18" x2="${lx + 190}" y2="18" stroke="${COLOR.fault}" stroke-dasharray="4 3"/>` +
      `<text x="${lx + 195}" y="22" fill="${COLOR.axis}">fault</text>` +
      `</g>`,
    '</svg>',
  );
  return out.join('\n');
}
