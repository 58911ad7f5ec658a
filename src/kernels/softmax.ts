import code from '../../shaders/softmax.wgsl?raw';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import type { GpuTensor } from '../tensor/gpu-tensor.js';
import { f32bits } from '../gpu/uniforms.js';
import { dims, grid1d } from './grid.js';

type Floats = Float32Array | Float64Array;
/** Class indices (u32 / Uint32Array) or one-hot rows (floats). */
export type Labels = Uint32Array | Floats;

/** The book's cross_entropy_error adds this inside the log so that log(0) never happens. */
export const XENT_DELTA = 1e-7;

/** The entry points of shaders/softmax.wgsl. */
export type SoftmaxEntry = 'softmax_rows' | 'xent_index' | 'xent_onehot' | 'xent_backward_index' | 'xent_backward_onehot';

/** The pipeline of one softmax entry point. */
export function softmaxKernel(entryPoint: SoftmaxEntry): KernelSpec {
  return { family: 'softmax', code, entryPoint };
}

/** Every softmax pipeline, for compiling up front. */
export const SOFTMAX_KERNELS: KernelSpec[] = (
  ['softmax_rows', 'xent_index', 'xent_onehot', 'xent_backward_index', 'xent_backward_onehot'] as const
).map(softmaxKernel);

function labelBuffers(labels: GpuTensor | undefined): [GPUBuffer | undefined, GPUBuffer | undefined] {
  if (!labels) return [undefined, undefined];
  return labels.dtype === 'u32' ? [labels.buffer, undefined] : [undefined, labels.buffer];
}

/** softmax of each row of x into y. */
export function softmaxGpu(ctx: GpuContext, x: GpuTensor, y: GpuTensor): void {
  const [rows, cols] = x.shape as [number, number];
  ctx.dispatch({
    kernel: softmaxKernel('softmax_rows'),
    params: [rows, cols, 0, 0],
    buffers: [x.buffer, undefined, undefined, y.buffer],
    workgroups: grid1d(rows, 64),
    shapes: `x${dims(x.shape)} → y${dims(y.shape)}`,
  });
}

/** probs = softmax(logits); rowLoss[r] = -log(probs[r, t_r] + 1e-7). */
export function xentGpu(ctx: GpuContext, logits: GpuTensor, labels: GpuTensor, probs: GpuTensor, rowLoss: GpuTensor): void {
  const [rows, cols] = logits.shape as [number, number];
  const oneHot = labels.dtype !== 'u32';
  ctx.dispatch({
    kernel: softmaxKernel(oneHot ? 'xent_onehot' : 'xent_index'),
    params: [rows, cols, 0, 0],
    buffers: [logits.buffer, ...labelBuffers(labels), probs.buffer, rowLoss.buffer],
    workgroups: grid1d(rows, 64),
    shapes: `logits${dims(logits.shape)}, t${dims(labels.shape)} → y${dims(probs.shape)}, loss[${rows}]`,
  });
}

/** dx = (probs - t) / batch. */
export function xentBackwardGpu(ctx: GpuContext, probs: GpuTensor, labels: GpuTensor, dx: GpuTensor): void {
  const [rows, cols] = probs.shape as [number, number];
  const oneHot = labels.dtype !== 'u32';
  ctx.dispatch({
    kernel: softmaxKernel(oneHot ? 'xent_backward_onehot' : 'xent_backward_index'),
    params: [rows, cols, f32bits(rows === 0 ? 0 : 1 / rows), 0],
    buffers: [probs.buffer, ...labelBuffers(labels), dx.buffer],
    workgroups: grid1d(rows * cols, 64),
    shapes: `y${dims(probs.shape)}, t${dims(labels.shape)} → dx${dims(dx.shape)}`,
  });
}

/** CPU reference: each row's softmax, the row's maximum subtracted first, as the book does. */
export function softmaxCpu(x: Floats, y: Floats, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, x[base + c]!);
    let total = 0;
    for (let c = 0; c < cols; c++) {
      const e = Math.exp(x[base + c]! - max);
      y[base + c] = e;
      total += e;
    }
    for (let c = 0; c < cols; c++) y[base + c]! /= total;
  }
}

/** Returns the batch-mean loss; writes probs. */
export function xentCpu(logits: Floats, labels: Labels, probs: Floats, rows: number, cols: number): number {
  softmaxCpu(logits, probs, rows, cols);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    if (labels instanceof Uint32Array) total -= Math.log(probs[r * cols + labels[r]!]! + XENT_DELTA);
    else for (let c = 0; c < cols; c++) total -= labels[r * cols + c]! * Math.log(probs[r * cols + c]! + XENT_DELTA);
  }
  return rows === 0 ? 0 : total / rows;
}

/** CPU reference of SoftmaxWithLoss's backward: dx = (y - t) / batch. */
export function xentBackwardCpu(probs: Floats, labels: Labels, dx: Floats, rows: number, cols: number): void {
  const inv = rows === 0 ? 0 : 1 / rows;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const t = labels instanceof Uint32Array ? (labels[r] === c ? 1 : 0) : labels[i]!;
      dx[i] = (probs[i]! - t) * inv;
    }
  }
}
