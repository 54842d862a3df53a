import { spawn } from 'node:child_process';
import type { NftApply } from './metadataBlock.js';

/**
 * Applies an nftables script with Debian's `nft -f -` (one transaction: all
 * of it or none). Rejects with nft's own complaint (it names the line).
 */
export function nftCommand(bin = 'nft'): NftApply {
  return (script) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(bin, ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8').slice(0, 2000)));
      child.on('error', (e: NodeJS.ErrnoException) =>
        reject(new Error(e.code === 'ENOENT' ? `${bin} is not installed (Debian: apt-get install nftables)` : e.message)),
      );
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(err.trim().split('\n').slice(0, 3).join(' ') || `${bin} exited ${code}`))));
      child.stdin.end(script);
    });
}
