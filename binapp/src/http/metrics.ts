import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** binapp's Prometheus metrics, in a registry of its own (no global state). */
export interface BinappMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly uploadedBytes: Counter;
  readonly downloadedBytes: Counter;
  readonly uploadSeconds: Histogram<'outcome'>;
  readonly s3Errors: Counter<'step' | 'code'>;
}

/** Creates the metrics; `defaults` adds process metrics (memory, CPU, event loop). */
export function createMetrics(options: { defaults?: boolean } = {}): BinappMetrics {
  const registry = new Registry();
  if (options.defaults ?? true) collectDefaultMetrics({ register: registry, prefix: 'binapp_' });
  return {
    registry,
    requests: new Counter({
      name: 'binapp_http_requests_total',
      help: 'HTTP requests by method, route and status.',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    uploadedBytes: new Counter({ name: 'binapp_uploaded_bytes_total', help: 'Bytes stored by POST /bin.', registers: [registry] }),
    downloadedBytes: new Counter({ name: 'binapp_downloaded_bytes_total', help: 'Bytes served by GET /bin/:id.', registers: [registry] }),
    uploadSeconds: new Histogram({
      name: 'binapp_upload_duration_seconds',
      help: 'Time from request start to stored object (or failure), by outcome.',
      labelNames: ['outcome'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    s3Errors: new Counter({
      name: 'binapp_s3_errors_total',
      help: 'Failed AWS steps by step and AWS error code.',
      labelNames: ['step', 'code'] as const,
      registers: [registry],
    }),
  };
}
