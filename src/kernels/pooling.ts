// Placeholder with the launcher signatures the backends call; the pooling kernel family replaces it.
import type { PoolGeometry } from '../backend/geometry.js';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import type { GpuTensor } from '../tensor/gpu-tensor.js';

type Floats = Float32Array | Float64Array;
const todo = (): never => {
  throw new Error('pooling kernels not written yet');
};

export const POOLING_KERNELS: KernelSpec[] = [];
export function maxPoolForwardGpu(_ctx: GpuContext, _g: PoolGeometry, _x: GpuTensor, _y: GpuTensor, _argmax: GpuTensor): void {
  todo();
}
export function maxPoolBackwardGpu(_ctx: GpuContext, _g: PoolGeometry, _dy: GpuTensor, _argmax: GpuTensor, _dx: GpuTensor): void {
  todo();
}
export function maxPoolForwardCpu(_g: PoolGeometry, _x: Floats, _y: Floats, _argmax: Uint32Array): void {
  todo();
}
export function maxPoolBackwardCpu(_g: PoolGeometry, _dy: Floats, _argmax: Uint32Array, _dx: Floats): void {
  todo();
}
