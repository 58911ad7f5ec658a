import { defineConfig } from 'vitest/config';
import { entryAliases } from './tools/entries.js';

/**
 * Three tiers, each runnable alone (`npx vitest run --project unit`); `npm test` runs them all.
 * unit: plain TypeScript on the CPU, seconds. e2e: whole programs in child processes and
 * Chromium (the CLI, the demo page, the benchmarks, the packed package). gpu: everything else,
 * kernels and training on the WebGPU adapter (SwiftShader here).
 */
const UNIT = ['idx', 'mnist', 'rng', 'safetensors', 'learning-check', 'run-settings', 'layering', 'public-imports', 'model-compat', 'regularization', 'overfitting', 'shift'].map((name) => `test/${name}.test.ts`);
const E2E = ['cli', 'demo', 'demo-conv', 'bench', 'bench-bundle', 'package', 'device-lifetime', 'skip-validation', 'bench-partial'].map((name) => `test/${name}.test.ts`);

export default defineConfig({
  // Tests import demo/ and bench/ modules, which import the engine by its package names.
  resolve: { alias: entryAliases },
  test: {
    // Dawn is a native addon that owns threads of its own: a process per test file keeps one
    // file's device from outliving it in a shared worker.
    pool: 'forks',
    // Kernels run on a software Vulkan adapter here: seconds, not milliseconds.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      { extends: true, test: { name: 'gpu', include: ['test/**/*.test.ts'], exclude: [...UNIT, ...E2E] } },
      { extends: true, test: { name: 'e2e', include: E2E } },
    ],
  },
});
