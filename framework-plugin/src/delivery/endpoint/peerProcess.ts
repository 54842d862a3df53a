import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { readTcpTables } from '../../net/tcpTables.js';
import { isIPv4, type Socket } from 'node:net';

/** Both ends of an accepted TCP connection, as the server's socket sees them. */
export interface ConnectionEnds {
  /** The server's end (where the agent listens). */
  readonly localAddress: string;
  readonly localPort: number;
  /** The caller's end. */
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** The processes holding the caller's socket, and the socket's owner. */
export interface PeerProcesses {
  readonly uid: number;
  readonly inode: string;
  readonly pids: readonly number[];
}

/** Both ends of an accepted connection as its socket reports them. */
export function endsOf(socket: Pick<Socket, 'localAddress' | 'localPort' | 'remoteAddress' | 'remotePort'>): ConnectionEnds {
  return {
    localAddress: socket.localAddress ?? '',
    localPort: socket.localPort ?? 0,
    remoteAddress: socket.remoteAddress ?? '',
    remotePort: socket.remotePort ?? 0,
  };
}

/** `127.0.0.1:8080` as `/proc/net/tcp` writes it (`0100007F:1F90`); IPv4-mapped in `tcp6`. */
export function procNetAddress(address: string, port: number, v6: boolean): string | undefined {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (!isIPv4(v4)) return undefined;
  const le = v4
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0').toUpperCase())
    .reverse()
    .join('');
  const hexPort = port.toString(16).padStart(4, '0').toUpperCase();
  return v6 ? `0000000000000000FFFF0000${le}:${hexPort}` : `${le}:${hexPort}`;
}

/**
 * The caller's socket in `/proc/net/tcp{,6}` (local = the caller's end,
 * remote = ours): its inode and owning uid. Pure over the tables' text.
 */
export function findSocket(tables: ReadonlyArray<{ text: string; v6: boolean }>, ends: ConnectionEnds): { inode: string; uid: number } | undefined {
  for (const { text, v6 } of tables) {
    const caller = procNetAddress(ends.remoteAddress, ends.remotePort, v6);
    const server = procNetAddress(ends.localAddress, ends.localPort, v6);
    if (!caller || !server) continue;
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1] === caller && f[2] === server && f[9] && f[9] !== '0') return { inode: f[9], uid: Number(f[7]) };
    }
  }
  return undefined;
}

/**
 * The tables parsed once: `<local> <remote>` (as `/proc/net/tcp` writes them)
 * → the socket's inode and owner. For many lookups against one read (a flood
 * of connections), instead of {@link findSocket}'s scan per lookup.
 */
export function indexSockets(tables: ReadonlyArray<{ text: string; v6: boolean }>): Map<string, { inode: string; uid: number }> {
  const index = new Map<string, { inode: string; uid: number }>();
  for (const { text } of tables) {
    let start = text.indexOf('\n') + 1;
    while (start > 0 && start < text.length) {
      const end = text.indexOf('\n', start);
      const f = text
        .slice(start, end < 0 ? undefined : end)
        .trim()
        .split(/\s+/);
      if (f[1] && f[2] && f[9] && f[9] !== '0') index.set(`${f[1]} ${f[2]}`, { inode: f[9], uid: Number(f[7]) });
      start = end < 0 ? -1 : end + 1;
    }
  }
  return index;
}

/** The caller's socket in an {@link indexSockets} index. */
export function socketIn(index: Map<string, { inode: string; uid: number }>, ends: ConnectionEnds): { inode: string; uid: number } | undefined {
  for (const v6 of [false, true]) {
    const caller = procNetAddress(ends.remoteAddress, ends.remotePort, v6);
    const server = procNetAddress(ends.localAddress, ends.localPort, v6);
    const hit = caller && server ? index.get(`${caller} ${server}`) : undefined;
    if (hit) return hit;
  }
  return undefined;
}

/**
 * Which processes hold the caller's end of a loopback connection: the socket
 * from `/proc/net/tcp{,6}`, then every process with a descriptor on it
 * (`/proc/<pid>/fd/* → socket:[inode]`). Needs root to see other users'
 * descriptors. Undefined when the socket is gone (the caller closed it).
 * `found`: the socket already looked up (the connection quota did).
 */
export async function peerProcesses(ends: ConnectionEnds, proc = '/proc', found?: { inode: string; uid: number }): Promise<PeerProcesses | undefined> {
  const socket = found ?? findSocket(await readTcpTables(proc), ends);
  if (!socket) return undefined;
  return { uid: socket.uid, inode: socket.inode, pids: holdersOf(socket, proc) };
}

/**
 * The processes with a descriptor on the socket (`/proc/<pid>/fd/* →
 * socket:[inode]`), read synchronously: each of these is an in-kernel lookup
 * of microseconds, and on the thread pool they would queue behind the slow
 * reads of `/proc/net/tcp` a connection burst brings (measured: 58 ms instead of 4).
 */
function holdersOf(socket: { inode: string; uid: number }, proc: string): number[] {
  const target = `socket:[${socket.inode}]`;
  const all = readdirSync(proc).filter((d) => /^\d+$/.test(d));
  // Only processes of the socket's owner can hold it (short of one handing it to another user, which the
  // container check refuses anyway): a caller's lookups cost in proportion to its own processes.
  const uidOf = (pid: string): number | undefined => {
    try {
      return statSync(`${proc}/${pid}`).uid;
    } catch {
      return undefined; // gone
    }
  };
  const candidates = socket.uid === 0 ? all : all.filter((pid) => uidOf(pid) === socket.uid);
  const pids: number[] = [];
  for (const pid of candidates) {
    let fds: string[];
    try {
      fds = readdirSync(`${proc}/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link = '';
      try {
        link = readlinkSync(`${proc}/${pid}/fd/${fd}`);
      } catch {
        // closed meanwhile
      }
      if (link === target) {
        pids.push(Number(pid));
        break;
      }
    }
  }
  return pids.sort((a, b) => a - b);
}
