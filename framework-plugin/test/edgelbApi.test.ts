import { Writable } from 'node:stream';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EdgeLb } from '../src/local/edgelb/controller.js';
import { startEdgeLbApi } from '../src/local/edgelb-api/server.js';

// The Pool API's answers to malformed requests, over a registry that must never be reached.
const untouchable = new Proxy({}, { get: () => () => assert.unreachable('the registry was reached') });
const edgelb = { pools: untouchable } as unknown as EdgeLb;
const TOKEN = 'test-token';

test('malformed percent-encoding in a pool name answers 400, never 500; no token answers 401 first', async () => {
  const api = await startEdgeLbApi({ edgelb, token: TOKEN, logger: pino({ level: 'silent' }, new Writable({ write: (_c, _e, cb) => cb() })) });
  try {
    for (const path of ['/v2/pools/%zz', '/service/edgelb/v2/pools/%E0%A4%A', '/v2/pools/%/lbconfig']) {
      const res = await fetch(`${api.url}${path}`, { headers: { authorization: `token=${TOKEN}` } });
      assert.is(res.status, 400, path);
      assert.match(((await res.json()) as { message: string }).message, 'malformed percent-encoding');
    }
    assert.is((await fetch(`${api.url}/v2/pools/%zz`)).status, 401);
  } finally {
    await api.stop();
  }
});

test.run();
