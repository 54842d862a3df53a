import { readdirSync, readFileSync } from 'node:fs';

/**
 * Kills every process running as `uid` (SIGKILL). An app's tasks may start
 * processes outside their process group (`setsid cmd &`); when the app has no
 * task left, nothing may keep running under its user.
 * @returns how many processes were signalled
 */
export function killAllOf(uid: number): number {
  let killed = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      continue; // gone
    }
    const real = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    if (Number(real) !== uid) continue;
    try {
      process.kill(Number(pid), 'SIGKILL');
      killed++;
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}
