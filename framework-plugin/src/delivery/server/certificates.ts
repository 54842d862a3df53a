import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { isIP } from 'node:net';
import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { SipError } from '../../core/errors/SipError.js';

// @peculiar/x509 builds and signs certificates with WebCrypto (Node's own).
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** sip server's certificate authority: the only issuer agents and servers trust each other by. */
export interface ServerCa {
  readonly certPem: string;
  /** PKCS#8 PEM: stays with the servers. */
  readonly keyPem: string;
}

/** An agent's identity as its certificate carries it. */
export interface CertifiedAgent {
  readonly agentId: string;
  readonly instanceId: string;
  readonly notAfter: Date;
}

const der = (pem: string): ArrayBuffer => {
  const b = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
};
const pem = (label: string, data: ArrayBuffer): string =>
  `-----BEGIN ${label}-----\n${(
    Buffer.from(data)
      .toString('base64')
      .match(/.{1,64}/g) ?? []
  ).join('\n')}\n-----END ${label}-----\n`;
const serial = (): string =>
  randomBytes(16)
    .toString('hex')
    .replace(/^[89a-f]/, '7');
const invalid = (why: string): SipError => new SipError('SIP_SERVER_CERT_INVALID', why, { expose: true });

/** The URI an agent's certificate names it by (SPIFFE's form: `spiffe://<trust domain>/mesos-agent/<agent id>`). */
export const agentUri = (trustDomain: string, agentId: string): string => `spiffe://${trustDomain}/mesos-agent/${agentId}`;
const AGENT_ID = /^[A-Za-z0-9._-]{1,128}$/;
const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

/** A new EC P-256 key pair (PEM), as an agent or server makes its own: the private key never leaves it. */
export async function newKeyPair(): Promise<{ publicKeyPem: string; privateKeyPem: string }> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  return {
    publicKeyPem: pem('PUBLIC KEY', await webcrypto.subtle.exportKey('spki', keys.publicKey)),
    privateKeyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
  };
}

/** A new certificate authority (self-signed, EC P-256), valid `lifetimeDays` (default 365). */
export async function createServerCa(opts: { name?: string; lifetimeDays?: number; now?: Date } = {}): Promise<ServerCa> {
  const now = opts.now ?? new Date();
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${opts.name ?? 'sip server CA'}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + (opts.lifetimeDays ?? 365) * 86_400_000),
    keys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  return { certPem: cert.toString('pem'), keyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey!)) };
}

async function issue(ca: ServerCa, subject: string, publicKeyPem: string, lifetimeSeconds: number, now: Date, extensions: x509.Extension[]): Promise<string> {
  let publicKey: CryptoKey;
  try {
    publicKey = await webcrypto.subtle.importKey('spki', der(publicKeyPem), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
  } catch {
    throw invalid('the public key to certify is not an EC P-256 key (SPKI PEM)');
  }
  const signingKey = await webcrypto.subtle.importKey('pkcs8', der(ca.keyPem), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: new x509.X509Certificate(ca.certPem).subject,
    notBefore: new Date(now.getTime() - 30_000),
    notAfter: new Date(now.getTime() + lifetimeSeconds * 1000),
    signingKey,
    publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ...extensions,
    ],
  });
  return cert.toString('pem');
}

/**
 * A short-lived client certificate for a proven agent: its key (generated on
 * the node), its Mesos agent id as a SPIFFE URI, its instance id as the
 * common name, client authentication only.
 * @throws SipError `SIP_SERVER_CERT_INVALID` for an id or key that cannot be certified.
 */
export function issueAgentCertificate(
  ca: ServerCa,
  req: { agentId: string; instanceId: string; publicKeyPem: string; trustDomain: string; lifetimeSeconds: number; now?: Date },
): Promise<string> {
  if (!AGENT_ID.test(req.agentId)) throw invalid(`agent id ${JSON.stringify(req.agentId.slice(0, 140))} is not a Mesos agent id`);
  if (!INSTANCE_ID.test(req.instanceId)) throw invalid(`instance id ${JSON.stringify(req.instanceId.slice(0, 40))} is not an EC2 instance id`);
  return issue(ca, `CN=${req.instanceId}`, req.publicKeyPem, req.lifetimeSeconds, req.now ?? new Date(), [
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: agentUri(req.trustDomain, req.agentId) }]),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
  ]);
}

/** A server's own serving certificate for its addresses (IPs or DNS names). */
export function issueServerCertificate(
  ca: ServerCa,
  req: { hosts: readonly string[]; publicKeyPem: string; lifetimeSeconds: number; now?: Date },
): Promise<string> {
  return issue(ca, `CN=${req.hosts[0] ?? 'sip server'}`, req.publicKeyPem, req.lifetimeSeconds, req.now ?? new Date(), [
    new x509.SubjectAlternativeNameExtension(req.hosts.map((h) => (isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h }))),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
  ]);
}

/**
 * The agent a client certificate names, after checking it is the CA's
 * (signature), current, for client authentication, and carries exactly one
 * agent URI of this trust domain. (TLS has checked the chain already where
 * the server requires client certificates; this names the agent.)
 * @throws SipError `SIP_SERVER_CERT_INVALID`
 */
export function agentOfCertificate(cert: X509Certificate, caPem: string, trustDomain: string, now = new Date()): CertifiedAgent {
  const ca = new X509Certificate(caPem);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) throw invalid("the certificate is not this server's CA's");
  const notAfter = new Date(cert.validTo);
  if (now < new Date(cert.validFrom) || now > notAfter) throw invalid(`the certificate is not valid now (valid until ${notAfter.toISOString()})`);
  if (!(cert.keyUsage ?? []).includes('1.3.6.1.5.5.7.3.2')) throw invalid('the certificate is not for client authentication');
  const prefix = `URI:spiffe://${trustDomain}/mesos-agent/`;
  const uris = (cert.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('URI:'));
  const id = uris.length === 1 && uris[0]!.startsWith(prefix) ? uris[0]!.slice(prefix.length) : '';
  if (!AGENT_ID.test(id)) throw invalid(`the certificate names no agent of ${trustDomain}`);
  const instanceId = /CN=(i-[0-9a-f]{8,17})/.exec(cert.subject)?.[1];
  if (!instanceId) throw invalid('the certificate names no instance');
  return { agentId: id, instanceId, notAfter };
}

/** When an agent should ask for its next certificate: two thirds into the current one's life. */
export function renewalDue(certPem: string): Date {
  const c = new X509Certificate(certPem);
  const from = new Date(c.validFrom).getTime();
  const to = new Date(c.validTo).getTime();
  return new Date(from + ((to - from) * 2) / 3);
}
