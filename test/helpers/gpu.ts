import { afterAll, beforeAll } from 'vitest';
import { openNodeGpu } from '../../src/device/discover-node.js';
import { GpuBackend, type GpuBackendOptions } from '../../src/backend/gpu-backend.js';
import type { GpuContext } from '../../src/gpu/gpu-context.js';

/**
 * One device per test file, destroyed after it: Dawn keeps a thread polling while a device
 * lives, so a forgotten device keeps the worker busy.
 */
export function useGpu(options: GpuBackendOptions = {}): { ctx: () => GpuContext; gpu: () => GpuBackend } {
  let ctx: GpuContext | undefined;
  let gpu: GpuBackend | undefined;
  beforeAll(async () => {
    ctx = await openNodeGpu();
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
