import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

// The layout is the design: what a real cluster runs (core, stores,
// delivery, clients) never reaches into the local stand-in or the CLI, core
// depends on nothing but itself, folders never import each other both ways,
// and an index re-exports only its own folder. Read from the sources' own
// import statements, so moving a line the wrong way fails here.

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const PRODUCT = ['core', 'stores', 'delivery', 'clients'];

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly line: string;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative import and re-export (static or dynamic) in the sources, as file → file. */
export function importEdges(srcDir: string): Edge[] {
  const edges: Edge[] = [];
  for (const file of sources(srcDir)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = resolve(dirname(file), m[1] ?? '').replace(/\.js$/, '.ts');
      edges.push({ from: relative(srcDir, file), to: relative(srcDir, target), line: m[0] });
    }
  }
  return edges;
}

const top = (p: string): string => p.split(sep)[0] ?? '';
const folder = (p: string): string => dirname(p);
const edges = importEdges(SRC);

test('the sources were read (the check is not vacuous)', () => {
  assert.ok(edges.length > 100, `only ${edges.length} imports found`);
  for (const room of [...PRODUCT, 'local', 'cli']) assert.ok(edges.some((e) => top(e.from) === room), `no imports read from ${room}/`);
});

test('core, stores, delivery and clients never import local/ or cli/', () => {
  const bad = edges.filter((e) => PRODUCT.includes(top(e.from)) && ['local', 'cli'].includes(top(e.to)));
  assert.equal(bad.map((e) => `${e.from} → ${e.to}`), []);
});

test('core imports only core (no stores, delivery, clients, net, log)', () => {
  const bad = edges.filter((e) => top(e.from) === 'core' && top(e.to) !== 'core');
  assert.equal(bad.map((e) => `${e.from} → ${e.to}`), []);
});

test('the local stand-in never imports the CLI', () => {
  const bad = edges.filter((e) => top(e.from) === 'local' && top(e.to) === 'cli');
  assert.equal(bad.map((e) => `${e.from} → ${e.to}`), []);
});

test('no two folders import each other', () => {
  const pairs = new Set(edges.filter((e) => folder(e.from) !== folder(e.to)).map((e) => `${folder(e.from)} → ${folder(e.to)}`));
  const both = [...pairs].filter((p) => {
    const [a, b] = p.split(' → ');
    return pairs.has(`${b} → ${a}`);
  });
  assert.equal(both, []);
});

test('index files re-export only their own folder', () => {
  const bad = edges.filter((e) => e.from.endsWith('index.ts') && e.from !== 'index.ts' && !e.to.startsWith(folder(e.from) + sep));
  assert.equal(bad.map((e) => `${e.from} → ${e.to}`), []);
});

test('the package root exports no local stand-in and no CLI', () => {
  const bad = edges.filter((e) => e.from === 'index.ts' && ['local', 'cli'].includes(top(e.to)));
  assert.equal(bad.map((e) => e.to), []);
});

test.run();
