import { GpuTensor, type GpuContext } from 'webgpu-backprop';
import { matmulGpu, type MatmulVariant } from 'webgpu-backprop/kernels';
import { adapterInfoLine, type MatmulEngineSource } from './matmul-engine.js';

/**
 * One of our matmul variants as a MatmulEngine: products are recorded into the context's open
 * step and run when `finish` submits them, as timeGpu (gpu-timing.ts) does for the kernels section.
 */
export function oursMatmulSource(ctx: GpuContext, variant: MatmulVariant, isDefault: boolean): MatmulEngineSource {
  return {
    label: `ours, ${variant} variant${isDefault ? ' (this adapter\'s default)' : ''}`,
    adapter: adapterInfoLine(ctx.device.adapterInfo),
    async open(n, A, B) {
      const a = GpuTensor.from(ctx, A, [n, n]);
      const b = GpuTensor.from(ctx, B, [n, n]);
      const c = GpuTensor.empty(ctx, [n, n]);
      const enqueue = () => matmulGpu(ctx, a, b, undefined, c, {}, variant);
      return {
        name: `ours-${variant}`,
        enqueue,
        finish: () => ctx.finish(),
        async product() {
          enqueue();
          return (await c.read()) as Float32Array;
        },
        dispose() {
          a.dispose();
          b.dispose();
          c.dispose();
          ctx.pool.trim();
        },
      };
    },
  };
}
