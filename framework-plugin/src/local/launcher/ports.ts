import { canBind } from '../../net/canBind.js';
import { SipError } from '../../core/errors/SipError.js';

/** Hands out host ports from a range, never one that is in use (by us or anyone). */
export interface PortAllocator {
  allocate(count: number): Promise<number[]>;
  release(ports: readonly number[]): void;
}

/** Allocates from `[from, to]`, round-robin, skipping ports held or bound by others. */
export function createPortAllocator(range: { from: number; to: number; host?: string }): PortAllocator {
  const held = new Set<number>();
  let next = range.from;
  const size = range.to - range.from + 1;
  return {
    async allocate(count) {
      const out: number[] = [];
      for (let tried = 0; out.length < count && tried < size; tried++) {
        const port = next;
        next = next >= range.to ? range.from : next + 1;
        if (held.has(port)) continue;
        if (!(await canBind(port, range.host ?? '127.0.0.1'))) continue;
        held.add(port);
        out.push(port);
      }
      if (out.length < count) {
        out.forEach((p) => held.delete(p));
        throw new SipError('SIP_PORTS_EXHAUSTED', `no ${count} free ports left in ${range.from}-${range.to}`);
      }
      return out;
    },
    release(ports) {
      for (const p of ports) held.delete(p);
    },
  };
}
