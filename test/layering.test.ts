import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Imports run one way (ARCHITECTURE.md, "Parts"): the GPU context knows no kernel, and the ops
 * interface speaks its own types. Checked on the source text, as grep would.
 */
const ROOT = resolve(import.meta.dirname, '..');

/** The repository paths a file imports (static, type-only, re-exports and dynamic imports). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
  return specifiers.filter((s) => s.startsWith('.')).map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.ts')).map((f) => `${dir}/${f}`);
}

const fromKernels = (file: string) => importsOf(file).filter((p) => p.startsWith('src/kernels/'));

describe('layering', () => {
  it('reads import lines', () => {
    expect(importsOf('src/backend/cpu-backend.ts')).toContain('src/kernels/matmul.js');
  });

  it.each(sources('src/gpu'))('%s imports nothing from src/kernels', (file) => {
    expect(fromKernels(file)).toEqual([]);
  });

  it.each(['src/backend/backend.ts', 'src/backend/ops.ts'])('%s imports nothing from src/kernels', (file) => {
    expect(fromKernels(file)).toEqual([]);
  });
});
