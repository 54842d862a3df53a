/**
 * The split between `sip agent` on every node and `sip server`: how an agent
 * proves which node it is (a signed `sts:GetCallerIdentity`).
 * @packageDocumentation
 */
export { AUDIENCE_HEADER, createReplayGuard, signNodeProof, verifyNodeProof, type NodeProof, type ProofPolicy, type ProvenNode } from './nodeProof.js';
export { agentOfInstance, ec2PrivateIps, type NodeLookup } from './nodeOfInstance.js';
export {
  agentOfCertificate,
  agentUri,
  createServerCa,
  issueAgentCertificate,
  issueServerCertificate,
  newKeyPair,
  renewalDue,
  type CertifiedAgent,
  type ServerCa,
} from './certificates.js';
export { createCredentialServer, KEY_HEADER, keyDigest, type CredentialServerDeps } from './credentialServer.js';
