import { readTcpTable } from '../../net/tcpTables.js';
import { clientKey, type ClientDump, type SockDiag } from './sockDiag.js';
import type { Socket } from 'node:net';
import { endsOf, indexSockets, socketIn } from './peerProcess.js';

/** The far end of a connection: its socket inode and owner uid. */
export interface SocketOwner {
  readonly inode: string;
  readonly uid: number;
}

/** How owners are found besides `/proc/net/tcp`: the kernel's exact lookup (one socket), or its dump (a batch). */
export interface OwnerLookups {
  /** One connection at a time, exactly (a request's own lookup). */
  readonly exact?: SockDiag;
  /** A batch of connections to one port in one dump (the per-uid quota's, a flood's thousand). */
  readonly clients?: ClientDump;
}

type Found = (socket: Socket) => SocketOwner | undefined;

/** A batch's owners from the kernel's dump of the client sockets to each port (IPv6 only when needed). */
async function fromDump(clients: ClientDump, live: readonly Socket[]): Promise<Found> {
  // Each connection's ends read once, and its key in the kernel's dump made once.
  const keyOf = (e: ReturnType<typeof endsOf>): string => clientKey(e.remoteAddress, e.remotePort, e.localAddress);
  const ends = live.map((s) => ({ socket: s, e: endsOf(s) }));
  const byPort = new Map<number, Map<string, SocketOwner>>();
  for (const port of new Set(ends.map(({ e }) => e.localPort))) {
    const mine = ends.filter(({ e }) => e.localPort === port);
    const clientPorts = mine.map(({ e }) => e.remotePort);
    const found = await clients(port, false, clientPorts);
    if (mine.some(({ socket, e }) => !socket.destroyed && !found.has(keyOf(e)))) for (const [k, v] of await clients(port, true, clientPorts)) found.set(k, v);
    byPort.set(port, found);
  }
  return (s) => {
    const e = endsOf(s);
    return byPort.get(e.localPort)?.get(keyOf(e));
  };
}

/** A batch's owners from `/proc/net/tcp` (and `tcp6` only when needed: each read walks the kernel's whole TCP hash). */
async function fromTables(proc: string, live: readonly Socket[]): Promise<Found> {
  const v4 = await readTcpTable(false, proc);
  let index = indexSockets([v4]);
  if (live.some((s) => !s.destroyed && !socketIn(index, endsOf(s)))) index = indexSockets([v4, await readTcpTable(true, proc)]);
  return (s) => socketIn(index, endsOf(s));
}

/**
 * Who owns the far end of accepted loopback connections. With `exact`, each
 * connection is asked of the kernel on its own (falling back as below).
 * Otherwise in batches: one question at a time (the kernel's dump of the
 * client sockets where `clients` is given, else `/proc/net/tcp{,6}`) serves
 * every connection that arrived meanwhile, so a flood of connections costs
 * a few questions, not one per connection. Undefined when the socket is gone or not local.
 */
export function createConnectionOwners(proc = '/proc', lookups: OwnerLookups = {}): (socket: Socket) => Promise<SocketOwner | undefined> {
  let batch: Array<{ socket: Socket; done: (owner: SocketOwner | undefined) => void }> = [];
  // Remembered per connection: the quota's lookup also serves the caller's identification.
  const known = new WeakMap<Socket, Promise<SocketOwner | undefined>>();
  let scheduled = false;
  // One question in flight at a time: connections that arrive meanwhile wait for the next one (one per
  // connection would queue hundreds of walks of a table that grows with the flood).
  const flush = async (): Promise<void> => {
    const now = batch;
    batch = [];
    // A connection already closed (refused for its quota, or gone) is looked up no more.
    const live = now.filter(({ socket, done }) => (socket.destroyed ? (done(undefined), false) : true));
    if (live.length > 0) {
      const sockets = live.map((l) => l.socket);
      const found = await (lookups.clients ? fromDump(lookups.clients, sockets).catch(() => fromTables(proc, sockets)) : fromTables(proc, sockets));
      for (const { socket, done } of live) done(found(socket));
    }
    if (batch.length > 0) setImmediate(() => void flush());
    else scheduled = false;
  };
  const batched = (socket: Socket): Promise<SocketOwner | undefined> =>
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
      const e = endsOf(socket);
      owner = lookups.exact
        ? lookups.exact({ address: e.remoteAddress, port: e.remotePort }, { address: e.localAddress, port: e.localPort }).catch(() => batched(socket))
        : batched(socket);
      known.set(socket, owner);
    }
    return owner;
  };
}
