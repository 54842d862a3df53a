import type { Readable } from 'node:stream';
import type { BinStore } from './BinStore.js';

/**
 * A {@link BinStore} whose real implementation is loaded on first use (or
 * when {@link LazyStore.warm} is called): binapp listens and answers
 * `/healthz` before the AWS SDK, the largest part of its code, is even
 * evaluated. Calls made meanwhile wait for the load.
 */
export interface LazyStore extends BinStore {
  /** Starts loading now (right after the server listens); idempotent. */
  warm(): Promise<BinStore>;
}

/** Wraps `load` (called once) as a {@link LazyStore}. */
export function lazyStore(load: () => Promise<BinStore>): LazyStore {
  let loading: Promise<BinStore> | undefined;
  const warm = (): Promise<BinStore> => (loading ??= load());
  return {
    warm,
    put: async (key: string, body: Readable, contentType: string) => (await warm()).put(key, body, contentType),
    get: async (key: string) => (await warm()).get(key),
    ping: async () => (await warm()).ping(),
  };
}
