/**
 * How a client proves itself to an upstream (Marathon, the Mesos agent, the
 * DC/OS Secrets API): the `Authorization` header to send now, and how to get
 * a new one when the upstream answers 401 to it (an expired DC/OS token).
 * A header value is a credential: it never reaches a log or an error.
 */
export interface UpstreamAuth {
  /** What this source is, for messages (`ACS token`, `HTTP Basic as principal agent`); never the secret. */
  readonly describe: string;
  /** The `Authorization` header value to send now (undefined: none, the upstream asks for nothing). */
  header(): Promise<string | undefined>;
  /**
   * The upstream refused `rejected` (HTTP 401): renew it if this source can
   * (a new login). Resolves true when a retry may succeed.
   */
  renew(rejected: string | undefined): Promise<boolean>;
}

/** A fixed DC/OS ACS token (`Authorization: token=…`): cannot renew. */
export function tokenAuth(token: string): UpstreamAuth {
  const value = `token=${token}`;
  return { describe: 'ACS token', header: () => Promise.resolve(value), renew: () => Promise.resolve(false) };
}

/** HTTP Basic, as open-source Mesos (`--http_credentials`) and Marathon (`--http_credentials`) take it. */
export function basicAuth(principal: string, secret: string): UpstreamAuth {
  const value = `Basic ${Buffer.from(`${principal}:${secret}`, 'utf8').toString('base64')}`;
  return { describe: `HTTP Basic as principal ${principal}`, header: () => Promise.resolve(value), renew: () => Promise.resolve(false) };
}
