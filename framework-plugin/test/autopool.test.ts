import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AppView } from '../src/core/marathon/views.js';
import { autoPools } from '../src/local/edgelb/autopool.js';

// A host routed to one app is not taken by another: not by an id that sorts
// first, not by a later deployment, not after the victim is updated.
const app = (id: string, version: string, host: string, port: number): AppView =>
  ({
    id,
    version,
    labels: { 'edgelb.expose': 'true', 'edgelb.g.frontend.rules': `hostEq:${host}` },
    portDefinitions: [{ port: 0 }],
    healthChecks: [],
    tasks: [{ id: `${id.slice(1)}.t1`, state: 'TASK_RUNNING', host: '127.0.0.1', ports: [port], healthCheckResults: [] }],
  }) as unknown as AppView;

const serversFor = (r: ReturnType<typeof autoPools>): number[] => r.pools.flatMap((p) => p.backends.flatMap((b) => b.servers.map((s) => s.port)));

test('a later app asking for a routed host is refused with the reason; the victim keeps its route', () => {
  const victim = app('/zz/victim', '2026-11-29T10:00:00.000Z', 'binapp.example.com', 31001);
  const hijack = app('/aa/hijack', '2026-11-29T11:00:00.000Z', 'binapp.example.com', 31002);
  const r = autoPools([hijack, victim], { httpPort: 10080 });
  assert.equal(serversFor(r), [31001]);
  assert.equal(
    r.errors.map((e) => [e.appId, e.errors[0]?.message]),
    [['/aa/hijack', 'host binapp.example.com is already routed to app /zz/victim']],
  );
  // The victim is updated (now the newer version): it keeps the host through the claims of the last render.
  const updated = { ...victim, version: '2026-11-29T12:00:00.000Z' } as AppView;
  const again = autoPools([hijack, updated], { httpPort: 10080, claims: r.claims });
  assert.equal(serversFor(again), [31001]);
  // Once the victim is gone, the host is free.
  const gone = autoPools([hijack], { httpPort: 10080, claims: again.claims });
  assert.equal(serversFor(gone), [31002]);
});

const labelled = (id: string, version: string, labels: Record<string, string>, port: number): AppView =>
  ({ ...app(id, version, 'x.example.com', port), labels: { 'edgelb.expose': 'true', ...labels } }) as unknown as AppView;

test("no app joins another app's backend: same group name refused, apps without groups get their own", () => {
  const victim = labelled('/v', '2026-11-29T10:00:00.000Z', { 'edgelb.web.frontend.rules': 'hostEq:v.example.com' }, 31001);
  const joiner = labelled('/j', '2026-11-29T11:00:00.000Z', { 'edgelb.web.frontend.rules': 'pathBeg:/j' }, 31002);
  const r = autoPools([victim, joiner], { httpPort: 10080 });
  assert.equal(
    r.pools[0]?.backends.map((b) => [b.name, b.servers.map((s) => s.port)]),
    [['web', [31001]]],
  );
  assert.match(r.errors.find((e) => e.appId === '/j')?.errors[0]?.message ?? '', 'group web is already the backend of app /v');
  const plainA = labelled('/a', '2026-11-29T10:00:00.000Z', {}, 31003);
  const plainB = labelled('/b', '2026-11-29T11:00:00.000Z', {}, 31004);
  const plain = autoPools([plainA, plainB], { httpPort: 10080 });
  assert.equal(
    plain.pools[0]?.backends.map((b) => [b.name, b.servers.map((s) => s.port)]),
    [
      ['default.a', [31003]],
      ['default.b', [31004]],
    ],
  );
});

test("a host regex may not reach another app's host, and cannot be ordered before it", () => {
  const victim = app('/v', '2026-11-29T10:00:00.000Z', 'binapp.example.com', 31001);
  const sneaky = labelled('/s', '2026-11-29T11:00:00.000Z', { 'edgelb.g.frontend.rules': 'hostReg:^binapp\\.example\\.com$|pathBeg:/a' }, 31002);
  const r = autoPools([victim, sneaky], { httpPort: 10080 });
  assert.equal(serversFor(r), [31001]);
  assert.match(r.errors.find((e) => e.appId === '/s')?.errors[0]?.message ?? '', 'hostReg matches host binapp.example.com, which is routed to app /v');
});

test('one port, one protocol: a TCP app on the HTTP port is refused, the HTTP apps keep it', () => {
  const web = app('/w', '2026-11-29T10:00:00.000Z', 'w.example.com', 31001);
  const tcp = labelled(
    '/t',
    '2026-11-29T11:00:00.000Z',
    { 'edgelb.t.frontend.protocol': 'TCP', 'edgelb.t.frontend.port': '80', 'edgelb.t.backend.protocol': 'TCP' },
    31002,
  );
  const r = autoPools([web, tcp], { httpPort: 10080 });
  assert.equal(
    r.pools[0]?.frontends.map((f) => [f.bindPort, f.protocol]),
    [[10080, 'HTTP']],
  );
  assert.match(r.errors.find((e) => e.appId === '/t')?.errors[0]?.message ?? '', 'port 80 already serves HTTP');
});

test.run();
