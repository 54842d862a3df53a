import type { Rule } from './labels.js';

/** A server of a backend: one running, healthy task's port. */
export interface PoolServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** A frontend: a bind address/port and its rules, tried in order. */
export interface PoolFrontend {
  readonly name: string;
  readonly bindAddress: string;
  readonly bindPort: number;
  readonly protocol: 'HTTP' | 'TCP';
  readonly rules: ReadonlyArray<Rule & { backend: string }>;
  readonly defaultBackend?: string;
}

/** A backend and the servers currently in it. */
export interface PoolBackend {
  readonly name: string;
  readonly protocol: 'HTTP' | 'TCP';
  readonly balance: string;
  readonly servers: readonly PoolServer[];
  readonly rewritePath?: { fromPath: string; toPath: string };
}

/** An Edge-LB pool, reduced to what the HAProxy renderer needs. */
export interface Pool {
  readonly name: string;
  readonly frontends: readonly PoolFrontend[];
  readonly backends: readonly PoolBackend[];
}
