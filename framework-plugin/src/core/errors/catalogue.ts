/**
 * Every error code this project uses, in one table: the HTTP status a server
 * answers with it, the exit code `sip` ends with, and whether the operation
 * may be retried as it is (a store that was down may be up next time; a
 * denied secret will stay denied until something changes).
 *
 * Servers, clients and the CLI derive their mappings from here, so a code
 * means the same thing on the wire, in a shell script and in a test.
 */
export const CATALOGUE = {
  // command line
  SIP_USAGE: { status: 400, exit: 2, what: 'the command line is wrong' },
  SIP_FILE_UNREADABLE: { status: 400, exit: 1, what: 'a file named on the command line cannot be read' },
  SIP_STATE_DIR_INVALID: { status: 500, exit: 1, what: 'the state directory cannot be used' },
  SIP_STATE_INVALID: { status: 500, exit: 1, what: 'persisted state cannot be read' },
  SIP_WAIT_TIMEOUT: { status: 504, exit: 1, what: 'a wait ran out of time' },
  SIP_CLUSTER_START_FAILED: { status: 500, exit: 1, what: 'the local cluster did not start' },
  SIP_PORT_IN_USE: { status: 500, exit: 1, what: 'a port asked for is taken' },
  SIP_PORTS_EXHAUSTED: { status: 503, exit: 1, what: 'no free host port is left for a task', retry: true },
  // HTTP, any API
  SIP_UNAUTHORIZED: { status: 401, also: [403], exit: 1, what: 'no valid ACS token' },
  SIP_BAD_REQUEST: { status: 400, exit: 1, what: 'a request is malformed (e.g. its path encoding)' },
  SIP_METHOD_NOT_ALLOWED: { status: 405, exit: 1, what: 'the method is not served on this path' },
  SIP_BODY_TOO_LARGE: { status: 413, exit: 1, what: 'a request body is over its limit' },
  // Marathon apps (server side)
  SIP_MARATHON_INVALID_APP: { status: 422, also: [400], exit: 3, what: 'an app definition Marathon would refuse (its 400/422 body)' },
  SIP_APP_EXISTS: { status: 409, exit: 4, what: 'an app with this id exists' },
  SIP_APP_NOT_FOUND: { status: 404, exit: 5, what: 'no app with this id' },
  SIP_TASK_NOT_FOUND: { status: 404, exit: 5, what: 'no task with this id' },
  SIP_AGENT_NOT_FOUND: { status: 404, exit: 5, what: 'no agent with this id or number' },
  SIP_DEPLOYMENT_NOT_FOUND: { status: 404, exit: 5, what: 'no running deployment with this id' },
  SIP_GROUP_NOT_FOUND: { status: 404, exit: 5, what: 'no group with this id' },
  SIP_URI_NOT_SUPPORTED: { status: 404, exit: 1, what: 'the local cluster does not serve this Marathon URI' },
  SIP_DEPLOYMENT_FAILED: { status: 500, exit: 6, what: 'a deployment ended without reaching its goal' },
  SIP_DOCKER_PULL_FAILED: { status: 502, exit: 1, what: 'an image could not be pulled' },
  // Marathon (client side: what an API answered)
  SIP_MARATHON_INVALID: { status: 422, also: [400], exit: 3, what: 'Marathon refused the definition' },
  SIP_MARATHON_CONFLICT: { status: 409, exit: 4, what: 'Marathon answered conflict' },
  SIP_MARATHON_NOT_FOUND: { status: 404, exit: 5, what: 'Marathon answered not found' },
  SIP_MARATHON_FAILED: { status: 502, exit: 1, what: 'Marathon answered an error' },
  SIP_MARATHON_UNREACHABLE: { status: 503, exit: 1, what: 'Marathon cannot be reached', retry: true },
  // secret stores (exit 1 for all, as `dcos security secrets` does)
  SIP_SECRET_NOT_FOUND: { status: 404, exit: 1, what: 'no secret at this path' },
  SIP_SECRET_EXISTS: { status: 409, exit: 1, what: 'a secret exists at this path' },
  SIP_SECRET_PATH_INVALID: { status: 400, exit: 1, what: 'a secret path is not valid' },
  SIP_SECRET_VALUE_INVALID: { status: 400, exit: 1, what: 'a request does not carry a secret value' },
  SIP_SECRET_TOO_LARGE: { status: 413, exit: 1, what: 'a secret is over the size limit' },
  SIP_SECRET_UNAUTHORIZED: { status: 401, also: [403], exit: 1, what: 'the secrets API refused the token' },
  SIP_SECRET_TAMPERED: { status: 500, exit: 1, what: 'a stored secret does not decrypt' },
  SIP_SECRET_KEY_INSECURE: { status: 500, exit: 1, what: "the store's key file is readable by others" },
  SIP_SECRET_STORE_UNAVAILABLE: { status: 503, exit: 1, what: 'the secret store cannot be reached', retry: true },
  SIP_SECRET_STORE_ERROR: { status: 500, exit: 1, what: 'the secret store failed' },
  // resolver and delivery
  SIP_SECRET_DENIED: { status: 403, exit: 1, what: "an app is not under the secret's namespace" },
  SIP_SECRET_UNAVAILABLE: { status: 503, exit: 1, what: 'a secret could not be fetched for a task', retry: true },
  SIP_SECRET_CONTENT_INVALID: { status: 422, exit: 1, what: "a secret's content is not what its kind requires" },
  SIP_MATERIALIZE_FAILED: { status: 500, exit: 1, what: 'a secret file could not be placed in the sandbox', retry: true },
  // sip agent
  SIP_AGENT_UNKNOWN_CALLER: { status: 403, exit: 1, what: 'the caller of the credential agent is not a running task' },
  SIP_AGENT_TOKEN_INVALID: { status: 403, exit: 1, what: "the request's task token does not match the calling task" },
  SIP_AGENT_NO_ROLE: { status: 403, exit: 1, what: "the calling task's app has no role it may use" },
  SIP_AGENT_DENIED: { status: 403, exit: 1, what: "STS refused the app's role" },
  SIP_AGENT_STS_UNAVAILABLE: { status: 503, exit: 1, what: 'STS cannot be reached and no cached credentials are left', retry: true },
  SIP_AGENT_CONFIG_INVALID: { status: 500, exit: 2, what: 'the credential agent is configured wrong' },
  SIP_AGENT_FOREIGN_HOST: { status: 403, exit: 1, what: 'a request not addressed to the credential agent itself (a proxy, DNS rebinding)' },
  SIP_AGENT_METADATA_BLOCK_FAILED: { status: 500, exit: 1, what: 'nftables did not take the rules that close the metadata service to tasks' },
  SIP_AGENT_UPSTREAM_FAILED: { status: 503, exit: 1, what: 'the Mesos agent or Marathon cannot be asked who a caller is', retry: true },
  SIP_SERVER_PROOF_INVALID: { status: 403, exit: 1, what: 'a node proof (a signed sts:GetCallerIdentity) that does not prove an agent' },
  SIP_SERVER_UPSTREAM_FAILED: { status: 503, exit: 1, what: 'sip server cannot ask STS, the Mesos master or Marathon', retry: true },
  SIP_SERVER_NOT_ON_NODE: { status: 403, exit: 1, what: 'the task an agent asked for runs on another node' },
  SIP_SERVER_NOT_RUNNING: { status: 403, exit: 1, what: 'the masters list no running task by this id' },
  SIP_SERVER_NOT_MARATHON: { status: 403, exit: 1, what: "the task is not one of Marathon's apps" },
  SIP_SERVER_UNKNOWN_NODE: { status: 403, exit: 1, what: 'a proven instance that is no agent the Mesos master knows' },
  SIP_SERVER_CERT_INVALID: { status: 403, exit: 1, what: "a certificate that is not a current agent certificate of this server's CA" },
  SIP_SERVER_LOGIN_THROTTLED: { status: 429, exit: 1, what: 'too many logins from one address: each may cost sip server a call to STS', retry: true },
  SIP_SERVER_FAILED: { status: 500, exit: 1, what: 'sip server failed on a request (the reason is in its log, not the answer)' },
  // Edge-LB
  SIP_EDGELB_POOL_INVALID: { status: 400, exit: 3, what: 'a pool document is not valid' },
  SIP_HAPROXY_CONFIG_INVALID: { status: 400, exit: 3, what: 'HAProxy refuses the configuration a change would give' },
  SIP_EDGELB_POOL_EXISTS: { status: 409, exit: 4, what: 'a pool with this name exists' },
  SIP_EDGELB_POOL_NOT_FOUND: { status: 404, exit: 5, what: 'no pool with this name' },
  SIP_EDGELB_FAILED: { status: 502, exit: 1, what: 'Edge-LB answered an error' },
  SIP_EDGELB_UNREACHABLE: { status: 503, exit: 1, what: 'Edge-LB cannot be reached', retry: true },
  SIP_HAPROXY_MISSING: { status: 500, exit: 1, what: 'haproxy is not installed' },
  SIP_HAPROXY_FAILED: { status: 500, exit: 1, what: 'HAProxy did not start or reload' },
  // AWS emulator and Terraform
  SIP_EMULATOR_MISSING: { status: 500, exit: 1, what: 'the AWS emulator is not installed' },
  SIP_EMULATOR_START_FAILED: { status: 500, exit: 1, what: 'the AWS emulator did not start' },
  SIP_EMULATOR_CONFIG_INVALID: { status: 500, exit: 1, what: 'SIP_EMULATOR and its variables do not fit' },
  SIP_LOCALSTACK_UNAVAILABLE: { status: 500, exit: 1, what: 'LocalStack cannot be started here' },
  SIP_TERRAFORM_MISSING: { status: 500, exit: 1, what: 'terraform is not installed' },
  SIP_TERRAFORM_FAILED: { status: 500, exit: 1, what: 'a terraform command failed' },
} as const satisfies Record<string, { status: number; also?: readonly number[]; exit: number; what: string; retry?: boolean }>;

/** A stable error code (`SIP_*`): a key of {@link CATALOGUE}. */
export type SipErrorCode = keyof typeof CATALOGUE;

type Entry = { status: number; also?: readonly number[]; exit: number; what: string; retry?: boolean };
const entry = (code: SipErrorCode): Entry => CATALOGUE[code] as Entry;

/** True when `code` is one of the catalogue's codes (e.g. read back from a log line). */
export function isSipErrorCode(code: string): code is SipErrorCode {
  return Object.hasOwn(CATALOGUE, code);
}

/** The HTTP status a server answers with `code`. */
export function statusOf(code: SipErrorCode): number {
  return entry(code).status;
}

/** The exit code `sip` ends with on `code`. */
export function exitCodeOf(code: SipErrorCode): number {
  return entry(code).exit;
}

/** True when the same operation may succeed if tried again unchanged. */
export function isRetryable(code: SipErrorCode): boolean {
  return entry(code).retry === true;
}

/**
 * The code among `candidates` an HTTP status stands for (a client reading
 * an API's answer), or `fallback` when none does.
 */
export function codeForStatus<C extends SipErrorCode, F extends SipErrorCode>(status: number, candidates: readonly C[], fallback: F): C | F {
  return candidates.find((c) => entry(c).status === status || (entry(c).also ?? []).includes(status)) ?? fallback;
}
