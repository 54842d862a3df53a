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
  assert.equal(r.errors.map((e) => [e.appId, e.errors[0]?.message]), [['/aa/hijack', 'host binapp.example.com is already routed to app /zz/victim']]);
  // The victim is updated (now the newer version): it keeps the host through the claims of the last render.
  const updated = { ...victim, version: '2026-11-29T12:00:00.000Z' } as AppView;
  const again = autoPools([hijack, updated], { httpPort: 10080, claims: r.claims });
  assert.equal(serversFor(again), [31001]);
  // Once the victim is gone, the host is free.
  const gone = autoPools([hijack], { httpPort: 10080, claims: again.claims });
  assert.equal(serversFor(gone), [31002]);
});

test.run();
