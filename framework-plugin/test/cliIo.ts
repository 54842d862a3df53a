import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';

/** A CLI's io for tests: stdout and stderr gathered into `out.text`, no environment, files read as they are. */
export const captureIo = (out: { text: string }) => ({
  stdin: Object.assign(Readable.from([]), { isTTY: true }),
  stdout: { write: (s: string) => void (out.text += s) },
  stderr: { write: (s: string) => void (out.text += s) },
  env: {},
  readFile: (p: string) => readFile(p, 'utf8'),
});
