import { spawn } from 'node:child_process';
import { fstatSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createConnectionOwners } from '../src/delivery/endpoint/connectionOwners.js';
import { startSockDiag } from '../src/delivery/endpoint/sockDiag.js';

// Who owns the far end of a connection, asked of the kernel exactly (netlink
// sock_diag through the python3 helper) and, without the helper, read from
// /proc/net/tcp: both give the caller socket's own inode and uid.

/** A connection on loopback: the server's socket and the client's inode (its descriptor's). */
async function pair(): Promise<{ server: Socket; clientInode: string; close(): void }> {
  let accepted!: (s: Socket) => void;
  const got = new Promise<Socket>((r) => (accepted = r));
  const srv = createServer((s) => accepted(s));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const client = connect((srv.address() as { port: number }).port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', () => r()));
  const server = await got;
  const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
  return { server, clientInode: String(fstatSync(fd).ino), close: () => (client.destroy(), server.destroy(), srv.close()) };
}

test("the kernel's exact lookup names the caller socket's inode and uid; a socket that is not there is none", async () => {
  const diag = startSockDiag();
  if (!diag) return void process.stdout.write('\n  NOT CHECKED (no python3): sock_diag\n');
  const p = await pair();
  try {
    const s = p.server;
    const found = await diag.lookup({ address: s.remoteAddress!, port: s.remotePort! }, { address: s.localAddress!, port: s.localPort! });
    assert.equal(found, { uid: process.getuid!(), inode: p.clientInode });
    assert.is(await diag.lookup({ address: '127.0.0.1', port: 1 }, { address: s.localAddress!, port: s.localPort! }), undefined);
  } finally {
    p.close();
    diag.stop();
  }
});

test('connection owners: through the helper and, with none (no python3), from /proc/net/tcp: the same answer', async () => {
  const p = await pair();
  const diag = startSockDiag();
  const broken = startSockDiag('/nonexistent/python3');
  try {
    const viaTables = await createConnectionOwners('/proc')(p.server);
    assert.equal(viaTables, { uid: process.getuid!(), inode: p.clientInode });
    if (diag) {
      assert.equal(await createConnectionOwners('/proc', { exact: diag.lookup })(p.server), viaTables);
      assert.equal(await createConnectionOwners('/proc', { clients: diag.clients })(p.server), viaTables);
    }
    // A helper that cannot run: its lookups fail, and the tables answer instead.
    assert.equal(await createConnectionOwners('/proc', { exact: broken?.lookup, clients: broken?.clients })(p.server), viaTables);
  } finally {
    p.close();
    diag?.stop();
    broken?.stop();
  }
});

test("the kernel's dump: every connection of a batch by its owner, another uid's too; the listener's owner", async () => {
  const diag = startSockDiag();
  if (!diag) return void process.stdout.write('\n  NOT CHECKED (no python3): sock_diag dumps\n');
  const accepted: Socket[] = [];
  const srv = createServer((s) => accepted.push(s));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  // Twenty connections from a process of uid 65534, three from this one.
  const other = spawn(process.execPath, ['-e', `for(let i=0;i<20;i++)require('net').connect(${port},'127.0.0.1');setTimeout(()=>{},60000)`], {
    uid: 65534,
    gid: 65534,
    stdio: 'ignore',
  });
  const mine = [0, 1, 2].map(() => connect(port, '127.0.0.1'));
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => accepted.length >= 23 && (clearInterval(t), resolve()), 20);
      setTimeout(() => (clearInterval(t), reject(new Error(`only ${accepted.length} connections`))), 5000);
    });
    const owners = createConnectionOwners('/proc', { clients: diag.clients });
    const uids = await Promise.all(accepted.map(async (s) => (await owners(s))?.uid));
    assert.is(uids.filter((u) => u === 65534).length, 20);
    assert.is(uids.filter((u) => u === process.getuid!()).length, 3);
    // The same as /proc/net/tcp says, connection by connection.
    const tables = createConnectionOwners('/proc');
    assert.equal(await Promise.all(accepted.map(async (s) => await owners(s))), await Promise.all(accepted.map(async (s) => await tables(s))));
    // Who listens: this process (root here), on the address and not on another port.
    assert.equal(await diag.listenerOwners('127.0.0.1', port), [process.getuid!()]);
    assert.equal(await diag.listenerOwners('127.0.0.1', 1), []);
    assert.equal(await diag.listenerOwners('127.0.0.2', port), [], 'a listener on 127.0.0.1 does not take 127.0.0.2');
  } finally {
    other.kill();
    for (const s of [...mine, ...accepted]) s.destroy();
    srv.close();
    diag.stop();
  }
});

test.run();
