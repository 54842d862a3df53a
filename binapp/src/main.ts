import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { stdoutDestination } from './log/stdoutDestination.js';
import { createApp } from './app.js';
import { loadConfig } from './config/config.js';
import { BinappConfigError } from './errors.js';
import { createMetrics } from './http/metrics.js';
import { startServer } from './server.js';
import { lazyStore } from './store/lazyStore.js';

// The process entry point: reads the environment once, wires the parts, and
// owns the process lifecycle (signals, exit codes). Nothing below reads env.
let config;
try {
  config = loadConfig(process.env, (path) => readFileSync(path, 'utf8'));
} catch (err) {
  if (err instanceof BinappConfigError) {
    process.stderr.write(`binapp: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

// Its stdout is a file on the node's disk: a full disk drops log lines, never binapp.
const logger = pino({ name: 'binapp', level: config.logLevel }, stdoutDestination());
// Credentials: the AWS SDK default chain only (AWS_CONFIG_FILE with role_arn,
// external_id, credential_source). Region and endpoint come from the same chain.
// The AWS SDK is loaded right after the server listens (not before): /healthz
// answers at once, and a request that needs S3 meanwhile waits for it.
let client: { destroy(): void } | undefined;
const store = lazyStore(async () => {
  const { openS3Store } = await import('./store/s3Store.js');
  const opened = openS3Store({ bucket: config.bucket, prefix: config.prefix, partSize: config.partBytes, queueSize: config.partsInFlight });
  client = opened;
  return opened.store;
});
let draining = false;
const app = createApp({ config, store, logger, metrics: createMetrics(), isDraining: () => draining });
const server = await startServer(app, config.host, config.port, { headersTimeoutMs: config.headersTimeoutMs, requestTimeoutMs: config.requestTimeoutMs });
logger.info({ port: server.port, bucket: config.bucket, prefix: config.prefix, maxBytes: config.maxBytes }, 'binapp listening');
void store.warm().catch((err: Error) => logger.error({ err: { name: err.name } }, 'loading the S3 store failed'));

const shutdown = async (signal: string): Promise<void> => {
  if (draining) return;
  draining = true;
  logger.info({ signal, inFlight: server.inFlight, timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
  const clean = await server.close(config.shutdownTimeoutMs);
  client?.destroy();
  logger.info({ clean }, 'stopped');
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
