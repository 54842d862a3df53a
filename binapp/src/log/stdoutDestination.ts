import { writeSync } from 'node:fs';

/**
 * binapp's log destination: each line written to stdout synchronously, and
 * dropped (counted, then said) when it cannot be. On Mesos stdout is a file
 * in the sandbox, on the agent's disk; pino's default destination retries a
 * write that fails with `ENOSPC` forever, so a full disk would hang binapp
 * (uploads and health checks included) instead of costing it log lines.
 */
export function stdoutDestination(write: (data: string) => void = (d) => void writeSync(1, d)): { write(line: string): void } {
  let dropped = 0;
  const attempt = (data: string): boolean => {
    try {
      write(data);
      return true;
    } catch {
      return false;
    }
  };
  return {
    write(line) {
      if (dropped > 0) {
        if (
          !attempt(
            `${JSON.stringify({ level: 40, time: Date.now(), name: 'binapp', dropped, msg: `${dropped} log line(s) dropped: stdout could not be written` })}\n`,
          )
        )
          return void dropped++;
        dropped = 0;
      }
      if (!attempt(line)) dropped++;
    },
  };
}
