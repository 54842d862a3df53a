/**
 * The Edge-LB V2 Pool API's documents, as a client sends and receives them
 * (the server in `local/edgelb` validates them against Edge-LB's spec).
 */

/** A marathon/mesos task selector and its endpoint (Edge-LB `V2Service`). */
export interface V2Service {
  marathon?: { serviceID?: string; serviceIDPattern?: string; containerName?: string; containerNamePattern?: string };
  mesos?: Partial<
    Record<
      'frameworkName' | 'frameworkNamePattern' | 'frameworkID' | 'frameworkIDPattern' | 'taskName' | 'taskNamePattern' | 'taskID' | 'taskIDPattern',
      string
    >
  >;
  endpoint?: {
    type?: 'AUTO_IP' | 'AGENT_IP' | 'CONTAINER_IP' | 'ADDRESS';
    miscStr?: string;
    check?: { enabled?: boolean | null; customStr?: string };
    address?: string;
    port?: number;
    portName?: string;
    allPorts?: boolean;
  };
}

/** A routing entry of `linkBackend.map`: a backend and ANDed conditions. */
export type V2MapEntry = { backend: string } & Partial<Record<'hostEq' | 'hostReg' | 'pathBeg' | 'pathEnd' | 'pathReg', string>>;

/** Edge-LB `V2Frontend`. */
export interface V2Frontend {
  name?: string;
  bindAddress?: string;
  bindPort?: number | null;
  bindModifier?: string;
  certificates?: string[];
  redirectToHttps?: { except?: Array<{ host?: string; pathBeg?: string }> };
  miscStrs?: string[];
  protocol?: 'HTTP' | 'HTTPS' | 'TCP' | 'TLS';
  linkBackend?: { defaultBackend?: string; map?: V2MapEntry[] };
}

/** Edge-LB `V2Backend`. */
export interface V2Backend {
  name?: string;
  protocol?: 'HTTP' | 'HTTPS' | 'TCP' | 'TLS';
  rewriteHttp?: {
    host?: string;
    path?: { fromPath?: string | null; toPath?: string | null };
    request?: Record<string, boolean | null>;
    response?: Record<string, boolean | null>;
    sticky?: { enabled?: boolean | null; customStr?: string };
  };
  balance?: string;
  customCheck?: { httpchk?: boolean; httpchkMiscStr?: string; sslHelloChk?: boolean; miscStr?: string };
  miscStrs?: string[];
  services?: V2Service[];
}

/** An Edge-LB V2 pool as the API accepts it (`V2Pool`); fields this project does not use are kept as given. */
export interface V2Pool {
  apiVersion?: 'V1' | 'V2';
  name: string;
  namespace?: string | null;
  role?: string;
  count?: number | null;
  haproxy?: { stats?: { bindAddress?: string; bindPort?: number }; frontends?: V2Frontend[]; backends?: V2Backend[] };
  [field: string]: unknown;
}

/** One problem in a pool document: where (`haproxy.frontends[0].bindPort`) and what. */
export interface PoolProblem {
  readonly path: string;
  readonly message: string;
}

/** How one pool is doing: where it listens and which servers HAProxy sees. */
export interface PoolStatus {
  name: string;
  /** `auto` for Auto Pools from labels, `api` for pools created through the Pool API. */
  source: 'auto' | 'api';
  frontends: Array<{ name: string; bind: string; protocol: string }>;
  backends: Array<{ name: string; servers: Array<{ name: string; address: string; status: string }> }>;
}
