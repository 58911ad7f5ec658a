import code from '../../shaders/gather.wgsl?raw';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import type { GpuTensor } from '../tensor/gpu-tensor.js';
import { dims, grid1d } from './grid.js';

type Floats = Float32Array | Float64Array;

/** Every gather pipeline, for compiling up front. */
export const GATHER_KERNELS: KernelSpec[] = (['gather_rows', 'gather_range', 'gather_rows4', 'gather_range4'] as const).map((entryPoint) => ({
  family: 'gather',
  code,
  entryPoint,
}));

/**
 * Copies dataset rows into a batch: rows `indices` (u32 tensor) when given, else rows
 * start .. start + x.shape[0]. `pixels` holds the bytes packed four to a u32 word.
 */
export function gatherGpu(
  ctx: GpuContext,
  pixels: GpuTensor,
  labels: GpuTensor,
  source: { indices: GpuTensor } | { start: number },
  x: GpuTensor,
  t: GpuTensor,
): void {
  const [rows, cols] = x.shape as [number, number];
  const byIndex = 'indices' in source;
  // Word-aligned rows go a word (four pixels) per invocation: on SwiftShader the per-pixel
  // kernel took 2.5 ms of an 11 ms MNIST step. Eight words per invocation, as the elementwise
  // kernels run there (element-block.ts), measured slower still: 0.74 → 0.89 ms.
  const byWord = cols % 4 === 0;
  ctx.dispatch({
    kernel: GATHER_KERNELS[(byIndex ? 0 : 1) + (byWord ? 2 : 0)]!,
    params: [rows, cols, byIndex ? 0 : source.start, 0],
    buffers: [pixels.buffer, labels.buffer, byIndex ? source.indices.buffer : undefined, x.buffer, t.buffer],
    workgroups: grid1d(byWord ? (rows * cols) / 4 : rows * cols, 256),
    shapes: byIndex ? `bytes, idx[${rows}] → x${dims(x.shape)}, t[${rows}]` : `bytes[${source.start}..+${rows}] → x${dims(x.shape)}, t[${rows}]`,
  });
}

/** CPU reference: rows of bytes to [0, 1] floats, and their labels. */
export function gatherCpu(pixels: Uint8Array, labels: Uint8Array, cols: number, rowsToTake: ArrayLike<number>, x: Floats, t: Uint32Array): void {
  for (let r = 0; r < rowsToTake.length; r++) {
    const src = rowsToTake[r]!;
    const from = src * cols;
    const to = r * cols;
    for (let c = 0; c < cols; c++) x[to + c] = pixels[from + c]! / 255;
    t[r] = labels[src]!;
  }
}
