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
  const one = (file: string, v6: boolean): Promise<TcpTable> =>
    readFile(`${proc}/net/${file}`, 'utf8').then(
      (text) => ({ text, v6 }),
      () => ({ text: '', v6 }),
    );
  return Promise.all([one('tcp', false), one('tcp6', true)]);
}
