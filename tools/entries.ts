/**
 * The package's entry points and the source file behind each. demo/ and bench/ import the engine
 * by package name, as a user would; inside the repository those names must reach src/ without a
 * build, so Vite (the demo, the bench page) and vitest alias them here. Node would otherwise
 * resolve the name through package.json `exports` to dist/, a stale or missing build.
 * tsconfig.json's `paths` repeats this map for tsc and tsx (JSON cannot import it);
 * test/public-imports.test.ts checks that the two and package.json's `exports` agree.
 */
import { fileURLToPath } from 'node:url';
import type { Alias } from 'vite';

export const ENTRY_SOURCES = {
  'webgpu-backprop': 'src/index.ts',
  'webgpu-backprop/node': 'src/node.ts',
  'webgpu-backprop/kernels': 'src/kernels-entry.ts',
} as const;

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** Exact matches: the bare name's alias must not also catch 'webgpu-backprop/node'. */
export const entryAliases: Alias[] = Object.entries(ENTRY_SOURCES).map(([name, source]) => ({
  find: new RegExp(`^${name}$`),
  replacement: repoRoot + source,
}));
