import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { findSocket } from './peerProcess.js';

/**
 * Who owns the far end of accepted loopback connections, from
 * `/proc/net/tcp{,6}`: one read of the tables serves every connection that
 * arrived meanwhile, so a flood of connections costs a table read per tick,
 * not per connection. Undefined when the socket is gone or not local.
 */
export function createConnectionOwners(proc = '/proc'): (socket: Socket) => Promise<number | undefined> {
  let batch: Array<{ socket: Socket; done: (uid: number | undefined) => void }> = [];
  let scheduled = false;
  const flush = async (): Promise<void> => {
    const now = batch;
    batch = [];
    scheduled = false;
    const tables = await Promise.all([
      readFile(`${proc}/net/tcp`, 'utf8').then((text) => ({ text, v6: false }), () => ({ text: '', v6: false })),
      readFile(`${proc}/net/tcp6`, 'utf8').then((text) => ({ text, v6: true }), () => ({ text: '', v6: true })),
    ]);
    for (const { socket, done } of now) {
      const ends = { localAddress: socket.localAddress ?? '', localPort: socket.localPort ?? 0, remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0 };
      done(findSocket(tables, ends)?.uid);
    }
  };
  return (socket) =>
    new Promise((done) => {
      batch.push({ socket, done });
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => void flush());
      }
    });
}
