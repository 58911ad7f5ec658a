/**
 * The demo, the benchmarks and the examples are faces of the library: they reach the engine
 * through the package's entry points ('webgpu-backprop', '/node', '/kernels'), never by a path
 * into src/. Inside the repository those names mean src/ (tools/entries.ts, tsconfig.json's
 * `paths`), so nothing needs a build; a deep path would let a face use what a user cannot.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENTRY_SOURCES } from '../tools/entries.js';

const ROOT = resolve(import.meta.dirname, '..');
const FACES = ['demo', 'bench', 'examples'];
const SCANNED = new Set(['.ts', '.js', '.mjs', '.html']);
/** Installed packages and what builds and runs write (bench/.tmp, bench/.dist, bench/results). */
const SKIPPED = new Set(['node_modules', 'dist', 'results']);

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return SKIPPED.has(entry.name) || entry.name.startsWith('.') ? [] : files(path);
    return SCANNED.has(extname(entry.name)) ? [path] : [];
  });
}

/** Static imports and re-exports (`from '…'`), side-effect imports, dynamic `import('…')` and HTML `<script src>`. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|<script\b[^>]*\bsrc\s*=\s*)['"]([^'"]+)['"]/g;

/** A path into src/: 'src/…', or a relative or absolute path with a src/ folder in it. */
function reachesIntoSrc(specifier: string): boolean {
  return /^src(\/|$)/.test(specifier) || (/^\.{0,2}\//.test(specifier) && /\/src(\/|$)/.test(specifier));
}

/** `line N: specifier` for each import of `text` that reaches into src/. */
function deepImports(text: string): string[] {
  return [...text.matchAll(SPECIFIER)]
    .filter((m) => reachesIntoSrc(m[1]!))
    .map((m) => `line ${text.slice(0, m.index).split('\n').length}: ${m[1]}`);
}

describe('demo, bench and examples import the public entry points only', () => {
  it('finds a deep import in every form an import takes', () => {
    const text = [
      "import { Rng } from 'webgpu-backprop';",
      "import type { Tensor } from '../../src/tensor/tensor.js';",
      'import {\n  Trainer,\n} from "../src/train/trainer.js";',
      "export { SGD } from '../src/train/optimizer.js';",
      "import '../src/index.js';",
      "const { matmulGpu } = await import('../../src/kernels/matmul.js');",
      '<script type="module" src="/src/index.ts"></script>',
      "import { median } from './srcset.js';",
      "import { other } from '@scope/src';",
    ].join('\n');
    expect(deepImports(text)).toEqual([
      'line 2: ../../src/tensor/tensor.js',
      'line 5: ../src/train/trainer.js',
      'line 6: ../src/train/optimizer.js',
      'line 7: ../src/index.js',
      'line 8: ../../src/kernels/matmul.js',
      'line 9: /src/index.ts',
    ]);
  });

  it('scans the faces, their nested folders included', () => {
    const scanned = FACES.flatMap(files);
    expect(scanned).toEqual(expect.arrayContaining(['demo/main.ts', 'demo/index.html', 'bench/page/main.ts', 'bench/lib/ours.ts', 'bench/matmul-explore/sparse.ts', 'examples/node/train.mjs']));
    expect(scanned.filter((f) => /node_modules|\/\.tmp\/|\/results\//.test(f))).toEqual([]);
  });

  it.each(FACES)('nothing under %s/ imports from src/ by path', (face) => {
    const found = files(face).flatMap((file) => deepImports(readFileSync(join(ROOT, file), 'utf8')).map((hit) => `${file} ${hit}`));
    expect(found, `import these through 'webgpu-backprop', 'webgpu-backprop/node' or 'webgpu-backprop/kernels' instead`).toEqual([]);
  });
});

describe('the package names mean the same sources everywhere', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };
  const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } };

  it('tsconfig.json paths (tsc, tsx) map each name to the source that the Vite and vitest aliases use', () => {
    const paths = Object.fromEntries(Object.entries(tsconfig.compilerOptions.paths).map(([name, [target]]) => [name, relative(ROOT, resolve(ROOT, target!))]));
    expect(paths).toEqual(ENTRY_SOURCES);
  });

  it("every entry in package.json's exports has its source, and nothing else does", () => {
    const exported = Object.keys(manifest.exports).filter((key) => key !== './package.json').map((key) => (key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`));
    expect(exported.sort()).toEqual(Object.keys(ENTRY_SOURCES).sort());
  });
});
