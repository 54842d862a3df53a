import { readTcpTables } from '../../net/tcpTables.js';
import type { Socket } from 'node:net';
import { indexSockets, socketIn } from './peerProcess.js';

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
export function createConnectionOwners(proc = '/proc'): (socket: Socket) => Promise<SocketOwner | undefined> {
  let batch: Array<{ socket: Socket; done: (owner: SocketOwner | undefined) => void }> = [];
  // Remembered per connection: the quota's lookup also serves the caller's identification.
  const known = new WeakMap<Socket, Promise<SocketOwner | undefined>>();
  let scheduled = false;
  // One read in flight at a time: connections that arrive meanwhile wait for the next one (a read per
  // connection would queue hundreds of reads of a table that grows with the flood).
  const flush = async (): Promise<void> => {
    const now = batch;
    batch = [];
    const tables = await readTcpTables(proc);
    const index = indexSockets(tables);
    for (const { socket, done } of now) {
      const ends = {
        localAddress: socket.localAddress ?? '',
        localPort: socket.localPort ?? 0,
        remoteAddress: socket.remoteAddress ?? '',
        remotePort: socket.remotePort ?? 0,
      };
      done(socketIn(index, ends));
    }
    if (batch.length > 0) setImmediate(() => void flush());
    else scheduled = false;
  };
  return (socket) => {
    let owner = known.get(socket);
    if (!owner) {
      owner = new Promise((done) => {
        batch.push({ socket, done });
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => void flush());
        }
      });
      known.set(socket, owner);
    }
    return owner;
  };
}
