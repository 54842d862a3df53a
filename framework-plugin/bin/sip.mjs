#!/usr/bin/env node
// The `sip` command, run from its TypeScript sources (tsx).
import { register } from 'tsx/esm/api';

register();
const { runCli, processIo } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2), processIo());
