import { readTcpTables, type TcpTable } from './tcpTables.js';
import { isIPv4 } from 'node:net';

const hexPort = (port: number): string => port.toString(16).padStart(4, '0').toUpperCase();
const hexV4 = (ip: string): string =>
  ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0').toUpperCase())
    .reverse()
    .join('');

/**
 * The uids owning the listening TCP sockets that would take a connection to
 * `host:port` (an IPv4 loopback address): sockets bound to that address or to
 * any address, in `/proc/net/tcp` and `/proc/net/tcp6` (state `0A`, LISTEN).
 * Pure over the tables' text.
 */
export function listenerOwners(tables: ReadonlyArray<{ text: string; v6: boolean }>, host: string, port: number): number[] {
  if (!isIPv4(host)) return [];
  const p = hexPort(port);
  const wanted = new Set([`${hexV4(host)}:${p}`, `00000000:${p}`, `0000000000000000FFFF0000${hexV4(host)}:${p}`, `00000000000000000000000000000000:${p}`]);
  const uids: number[] = [];
  for (const { text } of tables) {
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A' && f[1] && wanted.has(f[1])) uids.push(Number(f[7]));
    }
  }
  return uids;
}

/** Reads in flight, by `/proc` path: checks that arrive meanwhile share one (each read walks the kernel's whole TCP hash, ≈10 ms). */
const reading = new Map<string, Promise<TcpTable[]>>();

/** {@link listenerOwners} on this host's `/proc`; concurrent checks share one read of the tables. */
export async function listenerOwnersOf(host: string, port: number, proc = '/proc'): Promise<number[]> {
  let tables = reading.get(proc);
  if (!tables) {
    tables = readTcpTables(proc).finally(() => reading.delete(proc));
    reading.set(proc, tables);
  }
  return listenerOwners(await tables, host, port);
}
