import type { GpuContext } from 'webgpu-backprop';
import { openNodeGpu, type AdapterChoice } from 'webgpu-backprop/node';

/**
 * A fresh device for one job, destroyed after it (Dawn keeps polling while a device lives), as
 * each engine and section gets a fresh page in the browser.
 */
export async function withGpu<R>(choice: AdapterChoice, f: (ctx: GpuContext) => Promise<R>): Promise<R> {
  const ctx = await openNodeGpu(choice);
  try {
    return await f(ctx);
  } finally {
    ctx.destroy();
  }
}
