import { writeSync } from 'node:fs';

/** A log destination that survives a full or failing disk (see {@link fdDestination}). */
export interface FdDestination {
  write(line: string): void;
  /** Lines dropped since the last one that got through. */
  dropped(): number;
}

/**
 * Writes log lines to a file descriptor (a daemon's stdout, a file on its
 * state disk) synchronously, and never throws: when the disk is full (or
 * the write fails otherwise) the line is dropped and counted, and the first
 * line that gets through again is preceded by one saying how many were lost.
 * A daemon whose log disk fills keeps serving (Node's own stdout stream
 * would raise `ENOSPC` as an uncaught error and end the process).
 */
export function fdDestination(fd: number, write: (fd: number, data: string) => void = (f, d) => void writeSync(f, d)): FdDestination {
  let dropped = 0;
  const tryWrite = (data: string): boolean => {
    try {
      write(fd, data);
      return true;
    } catch {
      return false;
    }
  };
  return {
    write(line) {
      if (dropped > 0) {
        const notice = `${JSON.stringify({ level: 40, time: Date.now(), component: 'log', dropped, msg: `${dropped} log line(s) dropped: the log could not be written (disk full?)` })}\n`;
        if (!tryWrite(notice)) return void dropped++;
        dropped = 0;
      }
      if (!tryWrite(line)) dropped++;
    },
    dropped: () => dropped,
  };
}
