import { spawn, type ChildProcess } from 'node:child_process';
import { isIPv4 } from 'node:net';
import { createInterface } from 'node:readline';

/**
 * The kernel's exact socket lookup (netlink `SOCK_DIAG_BY_FAMILY` with a full
 * `inet_diag_sockid`, linux/inet_diag.h): one socket's owner uid and inode in
 * microseconds, where reading `/proc/net/tcp` walks the whole TCP hash (tens
 * of milliseconds here, hundreds during a connection burst). Node cannot
 * open a netlink socket, so a small python3 helper does the asking, one line
 * per lookup. Its answer is `uid inode`, or `-` for no such socket.
 */
const HELPER = String.raw`
import socket, struct, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 4)  # NETLINK_SOCK_DIAG
def addr(fam, a):
    return socket.inet_pton(fam, a) + (b'\0' * 12 if fam == socket.AF_INET else b'')
def ask(fam, src, sport, dst, dport):
    sid = struct.pack('!HH', sport, dport) + addr(fam, src) + addr(fam, dst) + struct.pack('=III', 0, 0xffffffff, 0xffffffff)
    req = struct.pack('=BBBxI', fam, socket.IPPROTO_TCP, 0, 0xffffffff) + sid
    s.send(struct.pack('=IHHII', 16 + len(req), 20, 1, 0, 0) + req)  # SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST
    data = s.recv(65536)
    if struct.unpack('=H', data[4:6])[0] != 20:
        return None  # NLMSG_ERROR: no such socket
    return struct.unpack('=II', data[16 + 64:16 + 72])  # inet_diag_msg: idiag_uid, idiag_inode
for line in sys.stdin:
    i, src, sport, dst, dport = line.split()
    r = None
    try:
        if ':' not in src:
            r = ask(socket.AF_INET, src, int(sport), dst, int(dport))
            if r is None:
                r = ask(socket.AF_INET6, '::ffff:' + src, int(sport), '::ffff:' + dst, int(dport))
        else:
            r = ask(socket.AF_INET6, src, int(sport), dst, int(dport))
    except Exception:
        r = None
    sys.stdout.write('%s %s\n' % (i, '-' if r is None else '%d %d' % r))
    sys.stdout.flush()
`;

/** A socket's owner and inode, by the connection's four addresses (the caller's end first). */
export type SockDiag = (
  caller: { address: string; port: number },
  server: { address: string; port: number },
) => Promise<{ uid: number; inode: string } | undefined>;

/**
 * Starts the helper; undefined when python3 is not there (the caller reads
 * `/proc/net/tcp` instead). A lookup the helper does not answer within a
 * second, or after it died, rejects: the caller falls back.
 */
export function startSockDiag(python = 'python3'): { lookup: SockDiag; stop(): void } | undefined {
  let child: ChildProcess;
  try {
    child = spawn(python, ['-c', HELPER], { stdio: ['pipe', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
  const waiting = new Map<number, { resolve: (v: { uid: number; inode: string } | undefined) => void; reject: (e: Error) => void }>();
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
    const [id, uid, inode] = line.split(' ');
    const w = waiting.get(Number(id));
    if (!w) return;
    waiting.delete(Number(id));
    w.resolve(uid === '-' || uid === undefined || inode === undefined ? undefined : { uid: Number(uid), inode });
  });
  let pending: string[] = [];
  const flushLines = (): void => {
    const text = pending.join('');
    pending = [];
    if (!dead) child.stdin!.write(text);
  };
  const plain = (a: string): string => (a.startsWith('::ffff:') && isIPv4(a.slice(7)) ? a.slice(7) : a);
  return {
    lookup: (caller, server) =>
      new Promise((resolve, reject) => {
        if (dead) return reject(new Error('the socket lookup helper is not running'));
        const id = next++;
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error('the socket lookup helper did not answer'));
        }, 1000);
        timer.unref();
        waiting.set(id, {
          resolve: (v) => (clearTimeout(timer), resolve(v)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
        // Lines of one turn of the event loop go in one write (a burst of connections: a few syscalls, not thousands).
        pending.push(`${id} ${plain(caller.address)} ${caller.port} ${plain(server.address)} ${server.port}\n`);
        if (pending.length === 1) setImmediate(flushLines);
      }),
    stop: () => child.kill(),
  };
}
