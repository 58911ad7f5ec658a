import code from '../../shaders/optimizers.wgsl?raw';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import { f32bits } from '../gpu/uniforms.js';
import type { GpuTensor } from '../tensor/gpu-tensor.js';
import { dims, grid1d } from './grid.js';

type Floats = Float32Array | Float64Array;

export const SGD_KERNEL: KernelSpec = { family: 'optimizers', code, entryPoint: 'sgd' };

/** param -= lr * grad, in place. */
export function sgdGpu(ctx: GpuContext, param: GpuTensor, grad: GpuTensor, lr: number): void {
  ctx.dispatch({
    kernel: SGD_KERNEL,
    params: [param.size, f32bits(lr)],
    buffers: [grad.buffer, param.buffer],
    workgroups: grid1d(param.size, 256),
    shapes: `p${dims(param.shape)} -= ${lr} · g${dims(grad.shape)}`,
  });
}

export function sgdCpu(param: Floats, grad: Floats, lr: number): void {
  for (let i = 0; i < param.length; i++) param[i]! -= lr * grad[i]!;
}
