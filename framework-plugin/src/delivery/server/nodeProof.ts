import { GetCallerIdentityCommand, STSClient, type STSClientConfig } from '@aws-sdk/client-sts';
import { SipError } from '../../core/errors/SipError.js';

/**
 * How `sip agent` proves to `sip server` which node it runs on, with AWS's
 * own proof rather than a secret copied onto the node (Vault's AWS IAM auth
 * method does the same): the agent has the AWS SDK sign an
 * `sts:GetCallerIdentity` request with its instance-profile credentials,
 * including a header naming the server it is meant for, and hands the signed
 * request over instead of sending it. The server sends it to STS itself: STS
 * checks the signature and answers with the caller's ARN, whose session name
 * is, for an instance profile, the instance id.
 */
export interface NodeProof {
  /** Always POST. */
  readonly method: string;
  /** The headers as signed (host, x-amz-date, x-amz-security-token, x-sip-server-id, authorization…). */
  readonly headers: Readonly<Record<string, string>>;
  /** `Action=GetCallerIdentity&Version=2011-06-15`. */
  readonly body: string;
}

/** The signed header naming the server a proof is meant for: a proof sent to one server is worthless to another. */
export const AUDIENCE_HEADER = 'x-sip-server-id';
const BODY = 'Action=GetCallerIdentity&Version=2011-06-15';

/** Raised inside the SDK's pipeline once the request is signed: nothing is sent. */
class Captured extends Error {
  constructor(readonly request: { method: string; headers: Record<string, string>; body: unknown }) {
    super('captured');
    this.name = 'SipNodeProofCaptured';
  }
}

/**
 * A signed `GetCallerIdentity` for `audience`, by the AWS SDK's own signer
 * and default credential chain (the instance profile on a node), never sent.
 * `sts` is the STS client's configuration (region, endpoint, credentials);
 * `bound` are further headers the signature covers (the key a certificate is asked for).
 */
export async function signNodeProof(audience: string, sts: STSClientConfig = {}, bound: Readonly<Record<string, string>> = {}): Promise<NodeProof> {
  const client = new STSClient({
    ...sts,
    maxAttempts: 1,
    requestHandler: {
      handle: async (request: { method: string; headers: Record<string, string>; body: unknown }) => {
        throw new Captured(request);
      },
    },
  });
  // Added before signing (the build step), so the signature covers it.
  client.middlewareStack.add(
    (next) => async (args) => {
      Object.assign((args.request as { headers: Record<string, string> }).headers, bound, { [AUDIENCE_HEADER]: audience });
      return next(args);
    },
    { step: 'build', name: 'sipNodeProofAudience' },
  );
  try {
    await client.send(new GetCallerIdentityCommand({}));
  } catch (err) {
    if (err instanceof Captured) return { method: err.request.method, headers: { ...err.request.headers }, body: String(err.request.body ?? '') };
    throw new SipError('SIP_SERVER_PROOF_INVALID', `could not sign the node proof: ${(err as Error).message}`, { expose: true });
  } finally {
    client.destroy();
  }
  throw new SipError('SIP_SERVER_PROOF_INVALID', 'the AWS SDK sent the node proof instead of handing it over');
}

/** Who a verified proof says the caller is. */
export interface ProvenNode {
  readonly instanceId: string;
  /** The instance profile's role name (`assumed-role/<name>/<instance id>`). */
  readonly roleName: string;
  readonly account: string;
  readonly arn: string;
}

/** What a server checks a proof against. */
export interface ProofPolicy {
  /** The STS endpoint the server sends proofs to (its own configuration, never the caller's). */
  readonly stsEndpoint: string;
  /** This server's name, as agents put it in {@link AUDIENCE_HEADER}. */
  readonly audience: string;
  /** Instance-profile roles of agents (names); any other caller is refused. */
  readonly agentRoles: readonly string[];
  /**
   * The AWS account the agents' role lives in (this server's own, learnt
   * from STS at start): a role of the same name in another account, assumed
   * with a session named after one of our instances, proves nothing.
   */
  readonly account: string;
  /** How far a proof's `x-amz-date` may be from now. Default 5 minutes. */
  readonly maxSkewMs?: number;
  readonly now?: () => number;
  /** Sends the proof to STS (default: fetch). */
  readonly send?: (url: string, init: { method: string; headers: Record<string, string>; body: string }) => Promise<{ status: number; text: string }>;
}

const refuse = (why: string): SipError => new SipError('SIP_SERVER_PROOF_INVALID', why, { expose: true });
const header = (h: Readonly<Record<string, string>>, name: string): string | undefined => Object.entries(h).find(([k]) => k.toLowerCase() === name)?.[1];

/** `20261203T101500Z` as milliseconds. */
const amzDate = (v: string): number => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : NaN;
};

/**
 * Remembers the signatures of proofs already used, until they could no
 * longer pass the date check: a captured proof cannot be replayed. Bounded.
 */
export function createReplayGuard(windowMs: number, max = 100_000): { firstUse(signature: string, now: number): boolean } {
  const seen = new Map<string, number>();
  return {
    firstUse(signature, now) {
      for (const [s, until] of seen) {
        if (until > now && seen.size < max) break;
        seen.delete(s);
      }
      if (seen.has(signature)) return false;
      seen.set(signature, now + 2 * windowMs);
      return true;
    },
  };
}

/**
 * Checks a node proof and has STS say who signed it: only a POST of exactly
 * `GetCallerIdentity` to the server's own STS endpoint, signed (SigV4) over
 * the host, the date and the audience header, the audience this server's,
 * dated within the skew, never seen before; then STS's answer must be an
 * agent role's session, whose name is the instance id.
 * @throws SipError `SIP_SERVER_PROOF_INVALID` with the reason (never STS's text beyond its status).
 */
export async function verifyNodeProof(
  proof: NodeProof,
  policy: ProofPolicy,
  replay: ReturnType<typeof createReplayGuard>,
  bound: Readonly<Record<string, string>> = {},
): Promise<ProvenNode> {
  const now = (policy.now ?? Date.now)();
  const skew = policy.maxSkewMs ?? 5 * 60_000;
  const sts = new URL(policy.stsEndpoint);
  if (proof.method !== 'POST') throw refuse('a node proof is a signed POST');
  if (proof.body !== BODY) throw refuse('a node proof is a signed sts:GetCallerIdentity and nothing else');
  if (header(proof.headers, 'host') !== sts.host) throw refuse(`the proof is signed for another STS endpoint than this server's (${sts.host})`);
  const auth = header(proof.headers, 'authorization') ?? '';
  const signed = /SignedHeaders=([a-z0-9;-]+)/.exec(auth)?.[1]?.split(';') ?? [];
  const signature = /Signature=([0-9a-f]{64})/.exec(auth)?.[1];
  if (!auth.startsWith('AWS4-HMAC-SHA256 ') || !signature) throw refuse('the proof is not signed with AWS Signature Version 4');
  for (const h of ['host', 'x-amz-date', AUDIENCE_HEADER]) if (!signed.includes(h)) throw refuse(`the proof's signature does not cover ${h}`);
  if (header(proof.headers, AUDIENCE_HEADER) !== policy.audience) throw refuse(`the proof is meant for another server than ${policy.audience}`);
  for (const [h, v] of Object.entries(bound)) {
    if (!signed.includes(h.toLowerCase()) || header(proof.headers, h.toLowerCase()) !== v)
      throw refuse(`the proof's signature does not bind ${h} to what is asked`);
  }
  const at = amzDate(header(proof.headers, 'x-amz-date') ?? '');
  if (!(Math.abs(now - at) <= skew)) throw refuse(`the proof is dated outside ${skew / 1000} s of this server's clock`);
  if (!replay.firstUse(signature, now)) throw refuse('the proof was used before (a replay)');
  const headers = Object.fromEntries(Object.entries(proof.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k.toLowerCase())));
  const send =
    policy.send ??
    (async (url, init) => {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
      return { status: res.status, text: await res.text() };
    });
  let answer: { status: number; text: string };
  try {
    answer = await send(`${sts.origin}/`, { method: 'POST', headers, body: proof.body });
  } catch (err) {
    throw new SipError('SIP_SERVER_UPSTREAM_FAILED', `STS cannot be reached to check the proof: ${(err as Error).message}`, { expose: true });
  }
  if (answer.status !== 200) throw refuse(`STS refused the proof (HTTP ${answer.status}): the signature or the credentials are not valid`);
  const arn = /<Arn>([^<]+)<\/Arn>/.exec(answer.text)?.[1] ?? '';
  const m = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([\w+=,.@-]+)\/(i-[0-9a-f]{8,17})$/.exec(arn);
  if (!m) throw refuse(`the proof was signed by ${arn || 'an unknown caller'}, not an instance profile's session`);
  if (m[1] !== policy.account) throw refuse(`the proof was signed in account ${m[1]}, not this cluster's (${policy.account})`);
  if (!policy.agentRoles.includes(m[2]!)) throw refuse(`the proof was signed by role ${m[2]}, not an agent's instance profile`);
  return { account: m[1]!, roleName: m[2]!, instanceId: m[3]!, arn };
}
