import { createServer } from 'node:net';

/** True when nothing listens on `host:port` now (an exclusive bind succeeds, then is released). */
export function canBind(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/**
 * The first address `config` binds that `current` does not and another
 * process holds: what would keep a new HAProxy worker from starting.
 */
export async function busyNewBind(config: string, current: string): Promise<string | undefined> {
  const held = new Set(bindAddresses(current).map((b) => `${b.host}:${b.port}`));
  for (const b of bindAddresses(config)) {
    const address = `${b.host}:${b.port}`;
    if (!held.has(address) && !(await canBind(b.port, b.host))) return address;
  }
  return undefined;
}

/** The `bind host:port` addresses of an HAProxy config. */
export function bindAddresses(config: string): Array<{ host: string; port: number }> {
  return [...config.matchAll(/^\s*bind\s+([^\s:]+):(\d+)/gm)].map((m) => ({ host: m[1] ?? '127.0.0.1', port: Number(m[2]) }));
}
