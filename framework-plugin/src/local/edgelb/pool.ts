import type { Rule } from './labels.js';

/** A server of a backend: one running, healthy task's port. */
export interface PoolServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** HAProxy health-checks the server (Edge-LB's `endpoint.check`). */
  readonly check?: boolean;
  /** Extra text for the `server` line (Edge-LB's `endpoint.miscStr`). */
  readonly miscStr?: string;
}

/** A frontend: a bind address/port and its rules, tried in order. */
export interface PoolFrontend {
  readonly name: string;
  readonly bindAddress: string;
  readonly bindPort: number;
  readonly protocol: 'HTTP' | 'TCP';
  readonly rules: ReadonlyArray<Rule & { backend: string }>;
  readonly defaultBackend?: string;
  /** Appended to the `bind` line (Edge-LB's `bindModifier`). */
  readonly bindModifier?: string;
  /** Raw HAProxy lines (Edge-LB's `miscStrs`). */
  readonly miscStrs?: readonly string[];
}

/** A backend and the servers currently in it. */
export interface PoolBackend {
  readonly name: string;
  readonly protocol: 'HTTP' | 'TCP';
  readonly balance: string;
  readonly servers: readonly PoolServer[];
  readonly rewritePath?: { fromPath: string; toPath: string };
  /** Sticky sessions: the `cookie` directive's arguments (Edge-LB's `rewriteHttp.sticky`). */
  readonly sticky?: string;
  /** Rewrites the Host header sent to servers (Edge-LB's `rewriteHttp.host`). */
  readonly hostHeader?: string;
  /** `option httpchk` arguments when HTTP health checks are asked for (Edge-LB's `customCheck`). */
  readonly httpchk?: string;
  /** Raw HAProxy lines (Edge-LB's `miscStrs`). */
  readonly miscStrs?: readonly string[];
}

/** An Edge-LB pool, reduced to what the HAProxy renderer needs. */
export interface Pool {
  readonly name: string;
  readonly frontends: readonly PoolFrontend[];
  readonly backends: readonly PoolBackend[];
}
