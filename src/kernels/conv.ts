// Placeholder with the launcher signatures the backends call; the conv kernel family replaces it.
import type { ConvGeometry } from '../backend/geometry.js';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import type { GpuTensor } from '../tensor/gpu-tensor.js';

type Floats = Float32Array | Float64Array;
const todo = (): never => {
  throw new Error('conv kernels not written yet');
};

export function convKernels(): KernelSpec[] {
  return [];
}
export function convForwardGpu(_ctx: GpuContext, _g: ConvGeometry, _x: GpuTensor, _w: GpuTensor, _b: GpuTensor, _y: GpuTensor): void {
  todo();
}
export function convBackwardFilterGpu(_ctx: GpuContext, _g: ConvGeometry, _dout: GpuTensor, _x: GpuTensor, _dw: GpuTensor, _db: GpuTensor): void {
  todo();
}
export function convBackwardDataGpu(_ctx: GpuContext, _g: ConvGeometry, _dout: GpuTensor, _w: GpuTensor, _dx: GpuTensor): void {
  todo();
}
export function convForwardCpu(_g: ConvGeometry, _x: Floats, _w: Floats, _b: Floats, _y: Floats): void {
  todo();
}
export function convBackwardFilterCpu(_g: ConvGeometry, _dout: Floats, _x: Floats, _dw: Floats, _db: Floats): void {
  todo();
}
export function convBackwardDataCpu(_g: ConvGeometry, _dout: Floats, _w: Floats, _dx: Floats): void {
  todo();
}
