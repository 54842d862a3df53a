/**
 * binapp as a library: build the app around any {@link BinStore}.
 * @packageDocumentation
 */
export { createApp, type AppDeps } from './app.js';
export { loadConfig, type BinappConfig, type ReadTextFile } from './config/config.js';
export { BinappError, BinappConfigError } from './errors.js';
export { createMetrics, type BinappMetrics } from './http/metrics.js';
export { startServer, type RunningServer } from './server.js';
export { createS3Store, type S3StoreInit } from './store/s3Store.js';
export { StoreError, type BinStore, type StoredBin, type StoreFailure } from './store/BinStore.js';
