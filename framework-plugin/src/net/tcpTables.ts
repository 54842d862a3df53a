import { readFile } from 'node:fs/promises';

/** One of the kernel's TCP tables as text: `/proc/net/tcp` or `/proc/net/tcp6`. */
export interface TcpTable {
  readonly text: string;
  readonly v6: boolean;
}

/**
 * Reads `/proc/net/tcp` and `/proc/net/tcp6` (each read walks the kernel's
 * whole TCP hash: ≈10 ms on a large machine, so callers batch or share
 * reads). A table that cannot be read is empty.
 */
export function readTcpTables(proc = '/proc'): Promise<TcpTable[]> {
  return Promise.all([readTcpTable(false, proc), readTcpTable(true, proc)]);
}

/** One of the two tables (`tcp6` when `v6`): half the cost of both, where the other is not needed. */
export function readTcpTable(v6: boolean, proc = '/proc'): Promise<TcpTable> {
  return readFile(`${proc}/net/${v6 ? 'tcp6' : 'tcp'}`, 'utf8').then(
    (text) => ({ text, v6 }),
    () => ({ text: '', v6 }),
  );
}
