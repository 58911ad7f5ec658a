import family from '../../shaders/activations.wgsl?raw';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import type { GpuTensor } from '../tensor/gpu-tensor.js';
import { blockEntry, withElementEntryPoints, type ElementBlock } from './element-block.js';
import { dims, grid1d } from './grid.js';

type Floats = Float32Array | Float64Array;
/** The entry points of shaders/activations.wgsl. */
export type ActivationEntry = 'relu_forward' | 'relu_backward' | 'sigmoid_forward' | 'sigmoid_backward';

const ENTRIES = ['relu_forward', 'relu_backward', 'sigmoid_forward', 'sigmoid_backward'] as const;
const code = withElementEntryPoints(family, ENTRIES);

/** The pipeline of one activation entry point, at `block` elements per invocation. */
export function activationKernel(entry: ActivationEntry, block: ElementBlock = 1): KernelSpec {
  return { family: 'activations', code, entryPoint: blockEntry(entry, block) };
}

/** Every activation kernel, `block` elements per invocation. */
export function activationKernels(block: ElementBlock): KernelSpec[] {
  return ENTRIES.map((e) => activationKernel(e, block));
}

/**
 * Records one activation kernel, `block` elements per invocation (the backend's choice).
 * Bindings: src (x or dy), saved (mask or y), dst (y or dx), maskOut (ReLU forward only).
 */
export function activationGpu(
  ctx: GpuContext,
  block: ElementBlock,
  entry: ActivationEntry,
  src: GpuTensor,
  saved: GpuTensor | undefined,
  dst: GpuTensor,
  maskOut?: GpuTensor,
): void {
  const s = dims(src.shape);
  const shapes = entry === 'relu_forward' ? `x${s} → y${s}, mask${s}` : entry.endsWith('forward') ? `x${s} → y${s}` : `dy${s}, ${entry.startsWith('relu') ? 'mask' : 'y'}${s} → dx${s}`;
  ctx.dispatch({
    kernel: activationKernel(entry, block),
    params: [src.size],
    buffers: [src.buffer, saved?.buffer, dst.buffer, maskOut?.buffer],
    workgroups: grid1d(Math.ceil(src.size / block), 256),
    shapes,
  });
}

/** CPU reference: y = max(x, 0) and the mask (1 where x > 0) that backward multiplies by. */
export function reluForwardCpu(x: Floats, y: Floats, mask: Floats): void {
  for (let i = 0; i < x.length; i++) {
    const keep = x[i]! > 0;
    mask[i] = keep ? 1 : 0;
    y[i] = keep ? x[i]! : 0;
  }
}

/** CPU reference: dx = dy · mask. */
export function reluBackwardCpu(dy: Floats, mask: Floats, dx: Floats): void {
  for (let i = 0; i < dy.length; i++) dx[i] = dy[i]! * mask[i]!;
}

/** CPU reference: y = 1 / (1 + e^-x). */
export function sigmoidForwardCpu(x: Floats, y: Floats): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    y[i] = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
  }
}

/** CPU reference: dx = dy · y · (1 - y). */
export function sigmoidBackwardCpu(dy: Floats, y: Floats, dx: Floats): void {
  for (let i = 0; i < dy.length; i++) dx[i] = dy[i]! * y[i]! * (1 - y[i]!);
}
