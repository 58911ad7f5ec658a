import family from '../../shaders/dropout.wgsl?raw';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import { f32bits } from '../gpu/uniforms.js';
import type { GpuTensor } from '../tensor/gpu-tensor.js';
import { blockEntry, withElementEntryPoints, type ElementBlock } from './element-block.js';
import { dims, grid1d } from './grid.js';

type Floats = Float32Array | Float64Array;
/** The entry points of shaders/dropout.wgsl. */
export type DropoutEntry = 'dropout_forward' | 'dropout_inference' | 'dropout_backward';

const ENTRIES = ['dropout_forward', 'dropout_inference', 'dropout_backward'] as const;
const code = withElementEntryPoints(family, ENTRIES);

/** The pipeline of one dropout entry point, at `block` elements per invocation. */
export function dropoutKernel(entry: DropoutEntry, block: ElementBlock = 1): KernelSpec {
  return { family: 'dropout', code, entryPoint: blockEntry(entry, block) };
}

/** The three dropout kernels, `block` elements per invocation. */
export function dropoutKernels(block: ElementBlock): KernelSpec[] {
  return ENTRIES.map((e) => dropoutKernel(e, block));
}

/** The PCG hash of shaders/dropout.wgsl, in exact 32-bit integer arithmetic. */
export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/**
 * The seed of one layer's mask at one training step: a hash of the net's seed, the layer's
 * index and the step, so each step and layer draws its own mask and a resumed run redraws the
 * same ones.
 */
export function dropoutSeed(netSeed: number, layer: number, step: number): number {
  return pcgHash(pcgHash(pcgHash(netSeed >>> 0) ^ layer) ^ (step >>> 0));
}

/** Units whose draw is below this are dropped: ratio · 2^32, so P(drop) = ratio to within 2^-32. */
export function dropoutThreshold(ratio: number): number {
  if (!(ratio >= 0 && ratio < 1)) throw new RangeError(`dropout ratio must be in [0, 1), got ${ratio}`);
  return Math.floor(ratio * 2 ** 32);
}

/** Whether element i is kept under `seed` and `threshold` (the same test as the kernel). */
export function dropoutKeeps(i: number, seed: number, threshold: number): boolean {
  return pcgHash(pcgHash(i) ^ seed) >= threshold;
}

/** The dropout launchers run `block` elements per invocation (the backend's choice). */
export function dropoutForwardGpu(ctx: GpuContext, block: ElementBlock, x: GpuTensor, y: GpuTensor, mask: GpuTensor, seed: number, ratio: number): void {
  const s = dims(x.shape);
  ctx.dispatch({
    kernel: dropoutKernel('dropout_forward', block),
    params: [x.size, seed >>> 0, dropoutThreshold(ratio), 0],
    buffers: [x.buffer, undefined, y.buffer, mask.buffer],
    workgroups: grid1d(Math.ceil(x.size / block), 256),
    shapes: `x${s} → y${s}, mask${s} (drop ${ratio})`,
  });
}

/** Records y = x · (1 - ratio): every unit kept, scaled as the book does at inference. */
export function dropoutInferenceGpu(ctx: GpuContext, block: ElementBlock, x: GpuTensor, y: GpuTensor, ratio: number): void {
  const s = dims(x.shape);
  ctx.dispatch({
    kernel: dropoutKernel('dropout_inference', block),
    params: [x.size, 0, 0, f32bits(1 - ratio)],
    buffers: [x.buffer, undefined, y.buffer, undefined],
    workgroups: grid1d(Math.ceil(x.size / block), 256),
    shapes: `x${s} → y${s} × ${1 - ratio}`,
  });
}

/** Records dx = dy · mask. */
export function dropoutBackwardGpu(ctx: GpuContext, block: ElementBlock, dy: GpuTensor, mask: GpuTensor, dx: GpuTensor): void {
  const s = dims(dy.shape);
  ctx.dispatch({
    kernel: dropoutKernel('dropout_backward', block),
    params: [dy.size, 0, 0, 0],
    buffers: [dy.buffer, mask.buffer, dx.buffer, undefined],
    workgroups: grid1d(Math.ceil(dy.size / block), 256),
    shapes: `dy${s}, mask${s} → dx${s}`,
  });
}

/** CPU reference of the training forward: the same hashed mask as the GPU for the same seed. */
export function dropoutForwardCpu(x: Floats, y: Floats, mask: Floats, seed: number, ratio: number): void {
  const threshold = dropoutThreshold(ratio);
  for (let i = 0; i < x.length; i++) {
    const keep = dropoutKeeps(i, seed >>> 0, threshold);
    mask[i] = keep ? 1 : 0;
    y[i] = keep ? x[i]! : 0;
  }
}

/** CPU reference: y = x · (1 - ratio). */
export function dropoutInferenceCpu(x: Floats, y: Floats, ratio: number): void {
  const scale = 1 - ratio;
  for (let i = 0; i < x.length; i++) y[i] = x[i]! * scale;
}

/** CPU reference: dx = dy · mask. */
export function dropoutBackwardCpu(dy: Floats, mask: Floats, dx: Floats): void {
  for (let i = 0; i < dy.length; i++) dx[i] = dy[i]! * mask[i]!;
}
