import { afterAll, beforeAll, describe } from 'vitest';
import { SOFTWARE_BLOCK } from '../../src/kernels/element-block.js';
import { openNodeGpu } from '../../src/device/discover-node.js';
import { GpuBackend, type GpuBackendOptions } from '../../src/backend/gpu-backend.js';
import type { GpuContext } from '../../src/gpu/gpu-context.js';

/**
 * One device per test file, destroyed after it: Dawn keeps a thread polling while a device
 * lives, so a forgotten device keeps the worker busy. Its dispatch trace is on (a context's is
 * off unless asked for): tests check which kernels a step ran in `ctx.lastTrace`.
 */
export function useGpu(options: GpuBackendOptions = {}): { ctx: () => GpuContext; gpu: () => GpuBackend } {
  let ctx: GpuContext | undefined;
  let gpu: GpuBackend | undefined;
  beforeAll(async () => {
    ctx = await openNodeGpu();
    ctx.tracing = true;
    gpu = new GpuBackend(ctx, options);
  });
  afterAll(() => ctx?.destroy());
  return {
    ctx: () => ctx ?? fail(),
    gpu: () => gpu ?? fail(),
  };
}

function fail(): never {
  throw new Error('GPU not opened (beforeAll failed)');
}

/**
 * Runs `body` as a describe block once per elementwise block size (src/kernels/element-block.ts):
 * 1 element per invocation, as hardware adapters run them, and 8, as software ones do. `body`
 * gets a backend on `ctx` that runs that block.
 */
export function describeElementBlocks(ctx: () => GpuContext, title: string, body: (gpu: () => GpuBackend) => void): void {
  describe.each([1, SOFTWARE_BLOCK] as const)(`${title} (%i element(s) per invocation)`, (elementBlock) => {
    let gpu: GpuBackend | undefined;
    beforeAll(() => {
      gpu = new GpuBackend(ctx(), { elementBlock });
    });
    body(() => gpu ?? fail());
  });
}
