import { X509Certificate } from 'node:crypto';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  agentOfCertificate,
  createServerCa,
  issueAgentCertificate,
  issueServerCertificate,
  newKeyPair,
  renewalDue,
  type ServerCa,
} from '../src/delivery/server/certificates.js';

// sip server's certificates: a CA of its own, a short-lived client
// certificate per proven agent (its key made on the node, its Mesos agent id
// as a SPIFFE URI), checked by TLS itself (mutual TLS) and named by the server.

const DOMAIN = 'sip.test';
const AGENT = '3669ea49-c3c4-4b13-adee-05b8f9cb2562-S1';
const INSTANCE = 'i-0123456789abcdef0';

async function agentCert(ca: ServerCa, lifetimeSeconds = 600, agentId = AGENT): Promise<{ cert: string; key: string }> {
  const keys = await newKeyPair();
  return {
    cert: await issueAgentCertificate(ca, { agentId, instanceId: INSTANCE, publicKeyPem: keys.publicKeyPem, trustDomain: DOMAIN, lifetimeSeconds }),
    key: keys.privateKeyPem,
  };
}

/** A mutual-TLS handshake against a server of `ca`: what the server learns of the client, or the TLS error. */
async function handshake(ca: ServerCa, client: { cert: string; key: string } | undefined, trustCa = ca): Promise<string> {
  const serverKeys = await newKeyPair();
  const serverCert = await issueServerCertificate(ca, { hosts: ['127.0.0.1'], publicKeyPem: serverKeys.publicKeyPem, lifetimeSeconds: 600 });
  const server = createServer(
    { cert: serverCert, key: serverKeys.privateKeyPem, ca: trustCa.certPem, requestCert: true, rejectUnauthorized: true },
    (s: TLSSocket) => {
      try {
        const peer = s.getPeerX509Certificate();
        s.end(peer ? agentOfCertificate(peer, trustCa.certPem, DOMAIN).agentId : 'no certificate');
      } catch (err) {
        s.end(`refused: ${(err as Error).message}`);
      }
    },
  );
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    return await new Promise<string>((resolve) => {
      const s = connect({ host: '127.0.0.1', port, ca: ca.certPem, ...(client ?? {}), servername: undefined as unknown as string });
      let text = '';
      s.on('data', (d: Buffer) => (text += d));
      s.on('end', () => resolve(text || 'closed'));
      s.on('error', (e: NodeJS.ErrnoException) => resolve(`tls error: ${e.code ?? e.message}`));
    });
  } finally {
    server.close();
  }
}

test('a proven agent gets a client certificate naming its Mesos agent; mutual TLS carries it to the server', async () => {
  const ca = await createServerCa();
  const c = await agentCert(ca);
  const parsed = agentOfCertificate(new X509Certificate(c.cert), ca.certPem, DOMAIN);
  assert.is(parsed.agentId, AGENT);
  assert.is(parsed.instanceId, INSTANCE);
  assert.match(new X509Certificate(c.cert).subjectAltName ?? '', `URI:spiffe://${DOMAIN}/mesos-agent/${AGENT}`);
  assert.is(await handshake(ca, c), AGENT);
  // Renewal is due two thirds into its ten minutes.
  const due = renewalDue(c.cert).getTime() - Date.now();
  assert.ok(due > 350_000 && due < 420_000, `renewal in ${due} ms`);
});

test("no certificate, another CA's, an expired one, another trust domain's: refused by TLS or by the server", async () => {
  const ca = await createServerCa();
  const other = await createServerCa({ name: 'another CA' });
  assert.match(await handshake(ca, undefined), /tls error|closed/, 'no client certificate: the handshake fails');
  assert.match(await handshake(ca, await agentCert(other)), /tls error|closed/, "another CA's certificate: the handshake fails");
  const expired = await agentCert(ca, 1);
  await new Promise((r) => setTimeout(r, 1500));
  assert.throws(() => agentOfCertificate(new X509Certificate(expired.cert), ca.certPem, DOMAIN, new Date(Date.now() + 60_000)), /not valid now/);
  assert.match(await handshake(ca, expired), /tls error|closed|refused/, 'an expired certificate: refused');
  const fresh = await agentCert(ca);
  assert.throws(() => agentOfCertificate(new X509Certificate(fresh.cert), ca.certPem, 'other.domain'), /names no agent of other.domain/);
  // A server certificate is no client certificate.
  const keys = await newKeyPair();
  const serverCert = await issueServerCertificate(ca, { hosts: ['127.0.0.1'], publicKeyPem: keys.publicKeyPem, lifetimeSeconds: 600 });
  assert.throws(() => agentOfCertificate(new X509Certificate(serverCert), ca.certPem, DOMAIN), /not for client authentication/);
});

test('an id that is not a Mesos agent id, or a key that is not EC P-256, is never certified', async () => {
  const ca = await createServerCa();
  const keys = await newKeyPair();
  for (const agentId of ['a/../b', 'x'.repeat(200), 'S1\nCN=evil', '']) {
    assert.throws(
      () => issueAgentCertificate(ca, { agentId, instanceId: INSTANCE, publicKeyPem: keys.publicKeyPem, trustDomain: DOMAIN, lifetimeSeconds: 60 }),
      /not a Mesos agent id/,
    );
  }
  const err = await issueAgentCertificate(ca, {
    agentId: AGENT,
    instanceId: INSTANCE,
    publicKeyPem: 'nonsense',
    trustDomain: DOMAIN,
    lifetimeSeconds: 60,
  }).catch((e: Error) => e.message);
  assert.match(String(err), 'not an EC P-256 key');
});

test.run();
