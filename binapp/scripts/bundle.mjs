#!/usr/bin/env node
// binapp and all its dependencies as one ES module for Node: what `binapp`
// runs and what the Docker image holds. Usage: node scripts/bundle.mjs [OUTFILE]
// (default dist/binapp.mjs).
import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const outfile = resolve(process.argv[2] ?? join(root, 'dist', 'binapp.mjs'));
await build({
  entryPoints: [join(root, 'src/main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: false,
  legalComments: 'none',
  logLevel: 'error',
  // CommonJS dependencies call require(); give the bundle one.
  banner: { js: "import { createRequire as __sipRequire } from 'node:module'; const require = __sipRequire(import.meta.url);" },
});
