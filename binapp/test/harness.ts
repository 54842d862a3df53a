import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createApp } from '../src/app.js';
import { createMetrics } from '../src/http/metrics.js';
import { startServer, type RunningServer } from '../src/server.js';
import { createFakeStore, type FakeStore } from './fakeStore.js';

export const USER = 'testuser';
export const PASS = 'correct horse battery staple';
export const AUTH = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;

/** binapp over a fake store, listening on loopback, with its log captured. */
export interface TestApp {
  server: RunningServer;
  store: FakeStore;
  logs: () => string;
  draining: { value: boolean };
  close(): Promise<void>;
}

export async function startTestApp(options: { maxBytes?: number; bodyIdleTimeoutMs?: number } = {}): Promise<TestApp> {
  let logText = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logText += chunk.toString();
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const store = createFakeStore();
  const draining = { value: false };
  const app = createApp({
    config: { user: USER, pass: PASS, prefix: 'bin', maxBytes: options.maxBytes ?? 1024 * 1024, bodyIdleTimeoutMs: options.bodyIdleTimeoutMs ?? 30_000 },
    store,
    logger,
    metrics: createMetrics({ defaults: false }),
    isDraining: () => draining.value,
  });
  const server = await startServer(app, '127.0.0.1', 0);
  return { server, store, logs: () => logText, draining, close: async () => void (await server.close(1000)) };
}
