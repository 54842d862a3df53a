#!/usr/bin/env node
// binapp and all its dependencies bundled for Node: what `binapp` runs and
// what the Docker image holds. Split in two: `binapp.mjs` starts the server,
// the AWS SDK comes in a chunk loaded right after it listens (compiling the
// SDK's code is most of a cold start). Usage: node scripts/bundle.mjs [OUTDIR]
// (default dist/); the entry is OUTDIR/binapp.mjs.
import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const outdir = resolve(process.argv[2] ?? join(root, 'dist'));
await build({
  entryPoints: { binapp: join(root, 'src/main.ts') },
  outdir,
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  legalComments: 'none',
  logLevel: 'error',
  // CommonJS dependencies call require(); give the bundle one.
  banner: { js: "import { createRequire as __sipRequire } from 'node:module'; const require = __sipRequire(import.meta.url);" },
});
