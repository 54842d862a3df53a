#!/usr/bin/env node
// The `sip` command, run from its compiled JavaScript (dist/, made by `npm run build`).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(`sip is not built; run: npm run build --prefix ${new URL('../..', import.meta.url).pathname}\n`);
  process.exit(1);
}
const { runCli, processIo } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2), processIo());
