import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** Every bare (package or `node:`) import in the sources, as file → module. */
export function bareImports(srcDir: string): Edge[] {
  const out: Edge[] = [];
  for (const file of sources(srcDir)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'".][^'"]*)['"]/g)) out.push({ from: relative(srcDir, file), to: m[1] ?? '', line: m[0] });
  }
  return out;
}

/** What core/ may import besides itself: computation only, no I/O (files, processes, sockets, the host). */
const CORE_MAY_IMPORT = new Set(['node:crypto', 'node:util', 'zod']);

/** Bare imports of core/ files that reach outside computation. */
export function impureCoreImports(srcDir: string): string[] {
  return bareImports(srcDir)
    .filter((e) => e.from.split(sep)[0] === 'core' && !CORE_MAY_IMPORT.has(e.to))
    .map((e) => `${e.from} → ${e.to}`);
}

/** Import cycles between files of one folder (a → b → … → a), each as its path. */
export function folderCycles(list: readonly Edge[]): string[] {
  const next = new Map<string, string[]>();
  for (const e of list) if (dirname(e.from) === dirname(e.to) && e.from !== e.to) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const cycles = new Set<string>();
  const visit = (node: string, path: string[]): void => {
    const at = path.indexOf(node);
    if (at !== -1) {
      const loop = path.slice(at);
      const start = loop.indexOf([...loop].sort()[0]!);
      cycles.add([...loop.slice(start), ...loop.slice(0, start), loop[start]].join(' → '));
      return;
    }
    if (path.length > 50) return;
    for (const n of next.get(node) ?? []) visit(n, [...path, node]);
  };
  for (const start of next.keys()) visit(start, []);
  return [...cycles];
}

const top = (p: string): string => p.split(sep)[0] ?? '';
const folder = (p: string): string => dirname(p);
const edges = importEdges(SRC);

test('the sources were read (the check is not vacuous)', () => {
  assert.ok(edges.length > 100, `only ${edges.length} imports found`);
  for (const room of [...PRODUCT, 'local', 'cli'])
    assert.ok(
      edges.some((e) => top(e.from) === room),
      `no imports read from ${room}/`,
    );
});

test('core, stores, delivery and clients never import local/ or cli/', () => {
  const bad = edges.filter((e) => PRODUCT.includes(top(e.from)) && ['local', 'cli'].includes(top(e.to)));
  assert.equal(
    bad.map((e) => `${e.from} → ${e.to}`),
    [],
  );
});

test('core imports only core (no stores, delivery, clients, net, log)', () => {
  const bad = edges.filter((e) => top(e.from) === 'core' && top(e.to) !== 'core');
  assert.equal(
    bad.map((e) => `${e.from} → ${e.to}`),
    [],
  );
});

test('core does no I/O: no node:fs, node:child_process, node:net, node:os or any package but zod', () => {
  assert.equal(impureCoreImports(SRC), []);
});

test('the purity check sees a bare import of node:fs in core/ (and one outside core/ passes)', () => {
  const fake = mkdtempSync(join(tmpdir(), 'sip-layout-'));
  try {
    mkdirSync(join(fake, 'core', 'x'), { recursive: true });
    mkdirSync(join(fake, 'local'), { recursive: true });
    writeFileSync(join(fake, 'core', 'x', 'reads.ts'), "import { readFileSync } from 'node:fs';\nimport { z } from 'zod';\n");
    writeFileSync(join(fake, 'core', 'x', 'spawns.ts'), "const cp = await import('node:child_process');\n");
    writeFileSync(join(fake, 'local', 'fine.ts'), "import { readFileSync } from 'node:fs';\n");
    assert.equal(impureCoreImports(fake).sort(), [join('core', 'x', 'reads.ts') + ' → node:fs', join('core', 'x', 'spawns.ts') + ' → node:child_process']);
  } finally {
    rmSync(fake, { recursive: true, force: true });
  }
});

test('no import cycles between the files of one folder', () => {
  assert.equal(folderCycles(edges), []);
  // The check itself: a → b → a inside one folder is found.
  const e = (from: string, to: string): Edge => ({ from, to, line: '' });
  assert.equal(folderCycles([e('core/m/a.ts', 'core/m/b.ts'), e('core/m/b.ts', 'core/m/a.ts'), e('core/m/b.ts', 'core/n/c.ts')]), [
    'core/m/a.ts → core/m/b.ts → core/m/a.ts',
  ]);
});

test('the local stand-in never imports the CLI', () => {
  const bad = edges.filter((e) => top(e.from) === 'local' && top(e.to) === 'cli');
  assert.equal(
    bad.map((e) => `${e.from} → ${e.to}`),
    [],
  );
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
  assert.equal(
    bad.map((e) => `${e.from} → ${e.to}`),
    [],
  );
});

test('the package root exports no local stand-in and no CLI', () => {
  const bad = edges.filter((e) => e.from === 'index.ts' && ['local', 'cli'].includes(top(e.to)));
  assert.equal(
    bad.map((e) => e.to),
    [],
  );
});

test.run();
