import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Dawn is a native addon that owns threads of its own: a process per test file keeps one
    // file's device from outliving it in a shared worker.
    pool: 'forks',
    // Kernels run on a software Vulkan adapter here: seconds, not milliseconds.
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
