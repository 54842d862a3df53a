import { spawn, type ChildProcess } from 'node:child_process';
import { isIPv4 } from 'node:net';
import { createInterface } from 'node:readline';

/**
 * The kernel's socket lookups (netlink `SOCK_DIAG_BY_FAMILY`, linux/inet_diag.h),
 * where reading `/proc/net/tcp` formats the whole TCP hash as text (tens of
 * milliseconds here, hundreds during a connection burst) on the agent's own
 * loop. Node cannot open a netlink socket, so a small python3 helper asks,
 * one line per question:
 * - `X id src sport dst dport`: one socket by its full `inet_diag_sockid`,
 *   answered `uid inode` or `-` (microseconds);
 * - `C id port 4|6 [cport,…]`: the connected client sockets whose far end is
 *   `port` (and whose own port is one of those given; one dump of one family,
 *   parsed and filtered in the helper), answered as
 *   `src/sport/dst/uid/inode` records; TIME_WAIT and request sockets (whose
 *   uid the kernel reports as 0) are not asked for;
 * - `L id port`: the listening sockets on `port` (the small listening hash
 *   only), answered as `address/uid` records.
 * An answer of `!` is the helper's failure.
 */
const HELPER = String.raw`
import socket, struct, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 4)  # NETLINK_SOCK_DIAG
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
V4, V6 = socket.AF_INET, socket.AF_INET6
# TCP states a client's end can be in while it holds a connection (linux/tcp_states.h):
# ESTABLISHED SYN_SENT FIN_WAIT1 FIN_WAIT2 CLOSE CLOSE_WAIT LAST_ACK CLOSING.
CLIENT = (1 << 1) | (1 << 2) | (1 << 4) | (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 11)
LISTEN = 1 << 10
seq = [0]
def send(fam, states, sid, flags):
    seq[0] += 1
    req = struct.pack('=BBBxI', fam, socket.IPPROTO_TCP, 0, states) + sid
    s.send(struct.pack('=IHHII', 16 + len(req), 20, flags, seq[0], 0) + req)  # SOCK_DIAG_BY_FAMILY
def addr(fam, a):
    return socket.inet_pton(fam, a) + (b'\0' * 12 if fam == V4 else b'')
def ip(fam, b):
    return socket.inet_ntop(fam, b[:4] if fam == V4 else b[:16])
def exact(fam, src, sport, dst, dport):
    send(fam, 0xffffffff, struct.pack('!HH', sport, dport) + addr(fam, src) + addr(fam, dst) + struct.pack('=III', 0, 0xffffffff, 0xffffffff), 1)
    while True:
        data = s.recv(65536)
        if struct.unpack_from('=I', data, 8)[0] != seq[0]:
            continue  # a late answer to an earlier question
        if struct.unpack_from('=H', data, 4)[0] != 20:
            return None  # NLMSG_ERROR: no such socket
        return struct.unpack_from('=II', data, 16 + 64)  # inet_diag_msg: idiag_uid, idiag_inode
def dump(fam, states):
    send(fam, states, b'\0' * 48, 0x301)  # NLM_F_REQUEST | NLM_F_DUMP
    while True:
        data = s.recv(1 << 20)
        off = 0
        while off + 16 <= len(data):
            ln, typ, _, sq = struct.unpack_from('=IHHI', data, off)
            if ln < 16:
                break
            if sq == seq[0]:
                if typ in (2, 3):  # NLMSG_ERROR, NLMSG_DONE
                    return
                m = off + 16
                sport, dport = struct.unpack_from('!HH', data, m + 4)
                uid, inode = struct.unpack_from('=II', data, m + 64)
                yield sport, dport, data[m + 8:m + 24], data[m + 24:m + 40], uid, inode
            off += (ln + 3) & ~3
def answer(p):
    if p[1] == 'X':
        src, sport, dst, dport = p[2], int(p[3]), p[4], int(p[5])
        if ':' not in src:
            r = exact(V4, src, sport, dst, dport) or exact(V6, '::ffff:' + src, sport, '::ffff:' + dst, dport)
        else:
            r = exact(V6, src, sport, dst, dport)
        return '-' if r is None else '%d %d' % r
    port = int(p[2])
    if p[1] == 'C':
        fam = V6 if p[3] == '6' else V4
        wanted = set(int(x) for x in p[4].split(',')) if len(p) > 4 else None
        return ' '.join('%s/%d/%s/%d/%d' % (ip(fam, a), sp, ip(fam, b), uid, ino) for sp, dp, a, b, uid, ino in dump(fam, CLIENT) if dp == port and ino and (wanted is None or sp in wanted))
    if p[1] == 'L':
        return ' '.join('%s/%d' % (ip(fam, a), uid) for fam in (V4, V6) for sp, dp, a, b, uid, ino in dump(fam, LISTEN) if sp == port)
    return '!'
for line in sys.stdin:
    p = line.split()
    try:
        out = answer(p)
    except Exception:
        out = '!'
    sys.stdout.write('%s %s\n' % (p[0], out))
    sys.stdout.flush()
`;

/** A socket's owner uid and inode. */
export interface SocketIdentity {
  readonly uid: number;
  readonly inode: string;
}

/** A socket's owner and inode, by the connection's four addresses (the caller's end first). */
export type SockDiag = (caller: { address: string; port: number }, server: { address: string; port: number }) => Promise<SocketIdentity | undefined>;

/**
 * The connected client sockets whose far end is `port`, in one family (only
 * those from `clientPorts` where given: a batch's answer, not a flood's), keyed by {@link clientKey} of the client's address, port and the server's address.
 */
export type ClientDump = (port: number, v6: boolean, clientPorts?: readonly number[]) => Promise<Map<string, SocketIdentity>>;

/** The helper's three questions. */
export interface SockDiagHelper {
  readonly lookup: SockDiag;
  readonly clients: ClientDump;
  /** The uids of the sockets listening where a connection to `host:port` (IPv4) would go. */
  listenerOwners(host: string, port: number): Promise<number[]>;
  stop(): void;
}

/** An IPv4-mapped IPv6 address as the IPv4 address it is; others as they are. */
export const plainAddress = (a: string): string => (a.startsWith('::ffff:') && isIPv4(a.slice(7)) ? a.slice(7) : a);

/** The key of {@link ClientDump}'s map: the client's address and port, the server's address. */
export const clientKey = (clientAddress: string, clientPort: number, serverAddress: string): string =>
  `${plainAddress(clientAddress)} ${clientPort} ${plainAddress(serverAddress)}`;

/**
 * Starts the helper; undefined when python3 is not there (the caller reads
 * `/proc/net/tcp` instead). A question the helper does not answer within a
 * second (two for a dump), or after it died, rejects: the caller falls back.
 */
export function startSockDiag(python = 'python3'): SockDiagHelper | undefined {
  let child: ChildProcess;
  try {
    child = spawn(python, ['-c', HELPER], { stdio: ['pipe', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
  const waiting = new Map<number, { resolve: (rest: string) => void; reject: (e: Error) => void }>();
  let next = 0;
  let dead = false;
  const fail = (why: string): void => {
    dead = true;
    for (const w of waiting.values()) w.reject(new Error(why));
    waiting.clear();
  };
  child.on('error', () => fail('python3 cannot run'));
  child.on('exit', () => fail('the socket lookup helper ended'));
  child.stdin!.on('error', () => fail('the socket lookup helper is gone'));
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const space = line.indexOf(' ');
    const id = Number(space < 0 ? line : line.slice(0, space));
    const w = waiting.get(id);
    if (!w) return;
    waiting.delete(id);
    const rest = space < 0 ? '' : line.slice(space + 1);
    if (rest === '!') w.reject(new Error('the socket lookup helper failed'));
    else w.resolve(rest);
  });
  let pending: string[] = [];
  const flushLines = (): void => {
    const text = pending.join('');
    pending = [];
    if (!dead) child.stdin!.write(text);
  };
  const ask = (question: string, timeoutMs: number): Promise<string> =>
    new Promise((resolve, reject) => {
      if (dead) return reject(new Error('the socket lookup helper is not running'));
      const id = next++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error('the socket lookup helper did not answer'));
      }, timeoutMs);
      timer.unref();
      waiting.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      // Questions of one turn of the event loop go in one write (a few syscalls, not thousands).
      pending.push(`${id} ${question}\n`);
      if (pending.length === 1) setImmediate(flushLines);
    });
  const records = (rest: string): string[][] => (rest === '' ? [] : rest.split(' ').map((r) => r.split('/')));
  return {
    lookup: async (caller, server) => {
      const rest = await ask(`X ${plainAddress(caller.address)} ${caller.port} ${plainAddress(server.address)} ${server.port}`, 1000);
      const [uid, inode] = rest.split(' ');
      return uid === '-' || uid === undefined || inode === undefined ? undefined : { uid: Number(uid), inode };
    },
    clients: async (port, v6, clientPorts) => {
      const found = new Map<string, SocketIdentity>();
      const only = clientPorts ? ` ${[...new Set(clientPorts)].join(',') || '0'}` : '';
      for (const [src, sport, dst, uid, inode] of records(await ask(`C ${port} ${v6 ? 6 : 4}${only}`, 2000)))
        found.set(clientKey(src!, Number(sport), dst!), { uid: Number(uid), inode: inode! });
      return found;
    },
    listenerOwners: async (host, port) => {
      if (!isIPv4(host)) return [];
      const listening = new Set([host, '0.0.0.0', '::', `::ffff:${host}`]);
      return records(await ask(`L ${port}`, 2000))
        .filter(([address]) => listening.has(address!))
        .map(([, uid]) => Number(uid));
    },
    stop: () => child.kill(),
  };
}
