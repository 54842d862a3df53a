import { readTcpTable } from '../../net/tcpTables.js';
import type { SockDiag } from './sockDiag.js';
import type { Socket } from 'node:net';
import { endsOf, indexSockets, socketIn } from './peerProcess.js';

/** The far end of a connection: its socket inode and owner uid (`/proc/net/tcp`). */
export interface SocketOwner {
  readonly inode: string;
  readonly uid: number;
}

/**
 * Who owns the far end of accepted loopback connections, from
 * `/proc/net/tcp{,6}`: one read of the tables (at a time) serves every
 * connection that arrived meanwhile, so a flood of connections costs a few
 * table reads, not one per connection. Undefined when the socket is gone or not local.
 */
export function createConnectionOwners(proc = '/proc', diag?: SockDiag): (socket: Socket) => Promise<SocketOwner | undefined> {
  let batch: Array<{ socket: Socket; done: (owner: SocketOwner | undefined) => void }> = [];
  // Remembered per connection: the quota's lookup also serves the caller's identification.
  const known = new WeakMap<Socket, Promise<SocketOwner | undefined>>();
  let scheduled = false;
  // One read in flight at a time: connections that arrive meanwhile wait for the next one (a read per
  // connection would queue hundreds of reads of a table that grows with the flood).
  const flush = async (): Promise<void> => {
    const now = batch;
    batch = [];
    // IPv4 callers (every one of a 127.0.0.1 listener but IPv6 sockets connecting to a mapped address) are
    // in /proc/net/tcp: each read walks the kernel's whole TCP hash, so tcp6 is read only when needed.
    // A connection already closed (refused for its quota, or gone) is looked up no more.
    const live = now.filter(({ socket, done }) => (socket.destroyed ? (done(undefined), false) : true));
    if (live.length > 0) {
      const v4 = await readTcpTable(false, proc);
      let index = indexSockets([v4]);
      if (live.some(({ socket }) => !socket.destroyed && !socketIn(index, endsOf(socket)))) index = indexSockets([v4, await readTcpTable(true, proc)]);
      for (const { socket, done } of live) done(socketIn(index, endsOf(socket)));
    }
    if (batch.length > 0) setImmediate(() => void flush());
    else scheduled = false;
  };
  const fromTables = (socket: Socket): Promise<SocketOwner | undefined> =>
    new Promise((done) => {
      batch.push({ socket, done });
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => void flush());
      }
    });
  return (socket) => {
    let owner = known.get(socket);
    if (!owner) {
      // The kernel's exact lookup where the helper runs; the tables otherwise, or when it cannot answer.
      const e = endsOf(socket);
      owner = diag
        ? diag({ address: e.remoteAddress, port: e.remotePort }, { address: e.localAddress, port: e.localPort }).catch(() => fromTables(socket))
        : fromTables(socket);
      known.set(socket, owner);
    }
    return owner;
  };
}
