#!/usr/bin/env node
// After tsc: the files the compiled code reads beside itself (the moto
// launcher, Edge-LB's vendored spec and its licence) are copied from src/ to
// the same place under dist/.
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const src = join(root, 'src');
const dist = join(root, 'dist');
const ASSET = /\.(py|yaml)$|^LICENSE$/;

function copy(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) copy(p);
    else if (ASSET.test(name)) {
      const to = join(dist, relative(src, p));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(p, to);
    }
  }
}
copy(src);
