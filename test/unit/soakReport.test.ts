import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderMarkdown, renderSvg } from '../soak/report.js';
import type { SoakReport } from '../soak/types.js';

// The soak report's renderings: the verdict must say what the violations say,
// every fault must have its row and its marker, and the plot must stay valid
// XML whatever text the run put in it.

function passing(): SoakReport {
  return {
    startedAt: '2026-12-03T10:00:00.000Z',
    endedAt: '2026-12-03T11:00:05.000Z',
    plannedMinutes: 60,
    durationSeconds: 3605,
    cluster: {
      agents: 3,
      defaultMode: 'endpoint',
      apps: [
        { id: '/uploader', mode: 'endpoint', instances: 4 },
        { id: '/legacy', mode: 'file', instances: 2 },
      ],
    },
    requests: {
      upload: { '201': 12000, '503': 3, 'error:ECONNRESET': 2 },
      credentials: { '200': 48000 },
      deploy: { '201': 12 },
    },
    faults: {
      'agent-kill': { count: 3, recoveryMs: [800, 2400, 1500], p50Ms: 1500, maxMs: 2400, boundMs: 60000 },
      'zk-leader-kill': { count: 2, recoveryMs: [12000, 15500], p50Ms: 12000, maxMs: 15500, boundMs: 90000 },
      'network-partition': { count: 1, recoveryMs: [42000], p50Ms: 42000, maxMs: 42000, boundMs: 120000 },
    },
    credentialGap: { longestMs: 1234, atSecond: 905, boundMs: 5000 },
    uploads: { acknowledged: 12000, verified: 12000, lost: 0, torn: 0, duplicated: 0, stray: 0, bytesAcknowledged: 3 * 1024 ** 3 },
    leaks: [],
    lost: { apps: [], secrets: [] },
    memory: {
      'sip-agent': { samples: 360, firstMiB: 52.4, lastMiB: 55.1, maxMiB: 57.9, slopeMiBPerHour: 0.31, bounded: true },
      marathon: { samples: 360, firstMiB: 612, lastMiB: 640.5, maxMiB: 655, slopeMiBPerHour: -1.2, bounded: true },
    },
    timeline: Array.from({ length: 361 }, (_, i) => ({
      second: i * 10,
      requests: 160 + (i % 7),
      errors: i === 91 ? 5 : 0,
      faults: i === 90 ? ['agent-kill'] : i === 200 ? ['zk-leader-kill', 'network-partition'] : [],
    })),
    violations: [],
  };
}

/** Well-formed enough: one root, every tag closed in order, attributes quoted, no raw `&` or `<` in text or values. */
function assertWellFormed(svg: string): void {
  assert.ok(svg.startsWith('<svg '), 'starts with <svg');
  assert.ok(svg.endsWith('</svg>'), 'ends with </svg>');
  const open: string[] = [];
  let roots = 0;
  let at = 0;
  for (const m of svg.matchAll(/<[^>]*>/g)) {
    const text = svg.slice(at, m.index);
    assert.not.match(text, /&(?!(?:amp|lt|gt|quot|apos|#\d+);)|>/, `text before ${m[0]}`);
    at = m.index + m[0].length;
    const tag = m[0];
    const close = /^<\/([\w:-]+)\s*>$/.exec(tag);
    if (close) {
      assert.is(open.pop(), close[1], `${tag} closes what was opened`);
      continue;
    }
    const start = /^<([\w:-]+)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>$/.exec(tag);
    assert.ok(start, `a well-formed tag: ${tag}`);
    assert.not.match(start[2] ?? '', /&(?!(?:amp|lt|gt|quot|apos|#\d+);)/, `attributes of ${tag}`);
    if (open.length === 0) roots++;
    if (!start[3]) open.push(start[1]!);
  }
  assert.is(svg.slice(at), '', 'nothing after the root');
  assert.equal(open, [], 'every element closed');
  assert.is(roots, 1, 'one root element');
}

test('a passing report says PASS and has a row for every fault kind', () => {
  const md = renderMarkdown(passing());
  assert.match(md, /^\*\*PASS\*\*/m);
  assert.not.match(md, /FAIL/);
  for (const kind of ['agent-kill', 'zk-leader-kill', 'network-partition']) assert.match(md, new RegExp(`^\\| ${kind} \\| `, 'm'));
  assert.match(md, /^\| agent-kill \| 3 \| 3 \/ 3 \| 1\.5 s \| 2\.4 s \| 1 min \| yes \|$/m);
  assert.match(md, /^\| upload \| · \| 12,000 \| 3 \| 2 \| 12,005 \|$/m, 'requests by kind, outcomes in columns');
  assert.match(md, /^\| Longest credential gap \| 1\.2 s \(from 15 min 5 s\) \| 5\.0 s \| yes \|$/m);
  assert.match(md, /^\| sip-agent \| 360 \| 52\.4 \| 55\.1 \| 57\.9 \| \+0\.31 \| yes \|$/m);
  assert.match(md, /## Violations\n\nnone\n/);
  assert.match(md, /!\[[^\]]*\]\(report\.svg\)/);
});

test('a failing report says FAIL with the count and lists every violation', () => {
  const r = passing();
  r.violations = ['upload 7f3a acknowledged and not in the bucket', 'credential gap 9.1 s over its bound 5 s', 'a | pipe & <tag>'];
  r.faults['agent-kill'] = { count: 3, recoveryMs: [800, null, 1500], p50Ms: 1500, maxMs: 1500, boundMs: 60000 };
  r.uploads = { ...r.uploads, verified: 11999, lost: 1 };
  r.lost.apps = ['/gone'];
  r.memory['sip-agent']!.bounded = false;
  const md = renderMarkdown(r);
  assert.match(md, /^\*\*FAIL\*\*: 3 violations\.$/m);
  assert.not.match(md, /PASS/);
  assert.match(md, /^- upload 7f3a acknowledged and not in the bucket$/m);
  assert.match(md, /^- credential gap 9\.1 s over its bound 5 s$/m);
  assert.match(md, /^- a \\\| pipe &amp; &lt;tag&gt;$/m, 'a violation cannot break the list or inject HTML');
  assert.match(md, /^\| agent-kill \| 3 \| 2 \/ 3 \(1 not recovered\) \| 1\.5 s \| not recovered \| 1 min \| \*\*no\*\* \|$/m);
  assert.match(md, /^\| Uploads lost \(201, not stored\) \| 1 \| 0 \| \*\*no\*\* \|$/m);
  assert.match(md, /^\| Apps lost \| 1: \/gone \| 0 \| \*\*no\*\* \|$/m);
  assert.match(md, /^\| sip-agent \|.*\| \*\*no\*\* \|$/m);
  r.violations = ['only one'];
  assert.match(renderMarkdown(r), /^\*\*FAIL\*\*: 1 violation\.$/m);
});

test('the plot is well-formed XML with one marker per fault and both lines', () => {
  const svg = renderSvg(passing());
  assertWellFormed(svg);
  assert.is(svg.match(/<g class="fault">/g)?.length, 3);
  assert.is(svg.match(/<polyline class="requests"/g)?.length, 1);
  assert.is(svg.match(/<polyline class="errors"[^>]*stroke="#d1242f"/g)?.length, 1);
  assert.match(svg, />zk-leader-kill</);
  assert.match(svg, />time since start \(min\)</);
  assert.not.match(svg, /no data/);
});

test('text from the run is escaped in the plot', () => {
  const r = passing();
  r.startedAt = `"it's" <now> & then`;
  r.timeline[5]!.faults = ['<&>'];
  const svg = renderSvg(r);
  assertWellFormed(svg);
  assert.match(svg, />&lt;&amp;&gt;</);
  assert.not.match(svg, /<&>/);
  assert.match(svg, /&quot;it&apos;s&quot; &lt;now&gt; &amp; then/);
  assert.is(svg.match(/<g class="fault">/g)?.length, 4);
});

test('an empty timeline still draws the axes and says no data', () => {
  const r = passing();
  r.timeline = [];
  const svg = renderSvg(r);
  assertWellFormed(svg);
  assert.match(svg, />no data</);
  assert.not.match(svg, /<polyline/);
  assert.not.match(svg, /class="fault"/);
  assert.ok((svg.match(/<line /g)?.length ?? 0) >= 4, 'axes and ticks');
  r.durationSeconds = 0;
  assertWellFormed(renderSvg(r));
});

test('a one-bucket timeline is plotted as points', () => {
  const r = passing();
  r.durationSeconds = 8;
  r.timeline = [{ second: 0, requests: 3, errors: 1, faults: ['agent-kill'] }];
  const svg = renderSvg(r);
  assertWellFormed(svg);
  assert.is(svg.match(/<circle /g)?.length, 2);
  assert.is(svg.match(/<g class="fault">/g)?.length, 1);
  assert.match(svg, />time since start \(s\)</);
});

test.run();
