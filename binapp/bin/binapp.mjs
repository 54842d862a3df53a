#!/usr/bin/env node
// Runs binapp's bundle (dist/binapp.mjs, made by `npm run build`): the same
// file in a checkout, in a Marathon task and in the Docker image.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/binapp.mjs', import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write(`binapp is not built; run: npm run build --prefix ${new URL('../..', import.meta.url).pathname}\n`);
  process.exit(1);
}
await import(bundle.href);
