import code from '../../shaders/reduce.wgsl?raw';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import { f32bits } from '../gpu/uniforms.js';
import { GpuTensor } from '../tensor/gpu-tensor.js';
import { dims, grid1d } from './grid.js';
import type { Labels } from './softmax.js';

type Floats = Float32Array | Float64Array;
/** Must match CHUNK in shaders/reduce.wgsl. */
const CHUNK = 128;

/** The entry points of shaders/reduce.wgsl. */
export type ReduceEntry = 'sum_chunks' | 'column_sum' | 'argmax_rows' | 'correct_index' | 'correct_onehot' | 'store_scalar';

/** The pipeline of one reduction entry point. */
export function reduceKernel(entryPoint: ReduceEntry): KernelSpec {
  return { family: 'reduce', code, entryPoint };
}

/** Every reduction pipeline, for compiling up front. */
export const REDUCE_KERNELS: KernelSpec[] = (
  ['sum_chunks', 'column_sum', 'argmax_rows', 'correct_index', 'correct_onehot', 'store_scalar'] as const
).map(reduceKernel);

/**
 * out[0] = scale * sum(x), by passes of chunked partial sums. Intermediate partials live in
 * pooled tensors released right away (reused from the next step on).
 */
export const SUM_SQUARES_KERNEL: KernelSpec = { ...reduceKernel('sum_chunks'), constants: { SQUARE: true } };

/** As sumGpu, of x², for the weight-decay term. */
export function sumSquaresGpu(ctx: GpuContext, x: GpuTensor, out: GpuTensor): void {
  sumGpu(ctx, x, out, 1, true);
}

/** Records out[0] = scale · Σx (or Σx² with `squares`), in passes of 128 values per invocation. */
export function sumGpu(ctx: GpuContext, x: GpuTensor, out: GpuTensor, scale: number, squares = false): void {
  let src = x;
  let n = x.size;
  const label = `x${dims(x.shape)} → ${squares ? 'Σx²' : scale === 1 ? 'sum' : `sum × ${scale.toPrecision(4)}`}`;
  do {
    const partials = Math.ceil(n / CHUNK);
    const last = partials <= 1;
    const dst = last ? out : GpuTensor.empty(ctx, [partials]);
    ctx.dispatch({
      // Only the first pass squares: later passes add up partial sums.
      kernel: squares && src === x ? SUM_SQUARES_KERNEL : reduceKernel('sum_chunks'),
      params: [n, 0, 0, f32bits(last ? scale : 1)],
      buffers: [src.buffer, undefined, undefined, dst.buffer],
      workgroups: grid1d(Math.max(partials, 1), 64),
      shapes: `${label} (pass of ${n})`,
    });
    if (src !== x) src.dispose();
    src = dst;
    n = partials;
  } while (n > 1);
}

/** Records out = Σrows x: an Affine layer's db. */
export function columnSumGpu(ctx: GpuContext, x: GpuTensor, out: GpuTensor): void {
  const [rows, cols] = x.shape as [number, number];
  ctx.dispatch({
    kernel: reduceKernel('column_sum'),
    params: [0, rows, cols, 0],
    buffers: [x.buffer, undefined, undefined, out.buffer],
    workgroups: grid1d(cols, 64),
    shapes: `x${dims(x.shape)} → Σrows [${cols}]`,
  });
}

/** Records the index of the highest score of each row. */
export function argmaxGpu(ctx: GpuContext, x: GpuTensor, out: GpuTensor): void {
  const [rows, cols] = x.shape as [number, number];
  ctx.dispatch({
    kernel: reduceKernel('argmax_rows'),
    params: [0, rows, cols, 0],
    buffers: [x.buffer, undefined, undefined, undefined, out.buffer],
    workgroups: grid1d(rows, 64),
    shapes: `x${dims(x.shape)} → argmax[${rows}]`,
  });
}

/** Per-row 1.0 where argmax(scores) equals the label. */
export function correctGpu(ctx: GpuContext, scores: GpuTensor, labels: GpuTensor, out: GpuTensor): void {
  const [rows, cols] = scores.shape as [number, number];
  const index = labels.dtype === 'u32';
  ctx.dispatch({
    kernel: reduceKernel(index ? 'correct_index' : 'correct_onehot'),
    params: [0, rows, cols, 0],
    buffers: [scores.buffer, index ? labels.buffer : undefined, index ? undefined : labels.buffer, out.buffer],
    workgroups: grid1d(rows, 64),
    shapes: `scores${dims(scores.shape)}, t${dims(labels.shape)} → correct[${rows}]`,
  });
}

/** dst[index] = src[0]. */
export function storeScalarGpu(ctx: GpuContext, src: GpuTensor, dst: GpuTensor, index: number): void {
  ctx.dispatch({
    kernel: reduceKernel('store_scalar'),
    params: [index, 0, 0, 0],
    buffers: [src.buffer, undefined, undefined, dst.buffer],
    workgroups: [1],
    shapes: `s[] → h${dims(dst.shape)}[${index}]`,
  });
}

/** Pairwise summation: the f64 reference should not carry an error of its own that grows with n. */
export function sumCpu(x: Floats, start = 0, end = x.length): number {
  const n = end - start;
  if (n <= 64) {
    let s = 0;
    for (let i = start; i < end; i++) s += x[i]!;
    return s;
  }
  const mid = start + (n >> 1);
  return sumCpu(x, start, mid) + sumCpu(x, mid, end);
}

/** CPU reference: out = Σrows x. */
export function columnSumCpu(x: Floats, out: Floats, rows: number, cols: number): void {
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) acc[c]! += x[base + c]!;
  }
  out.set(acc);
}

/** CPU reference: the index of the highest value of one row (the first, on ties). */
export function argmaxRowCpu(x: Floats | Labels, row: number, cols: number): number {
  const base = row * cols;
  let best = 0;
  for (let c = 1; c < cols; c++) if (x[base + c]! > x[base + best]!) best = c;
  return best;
}

/** CPU reference: the index of the highest value of each row. */
export function argmaxCpu(x: Floats, out: Uint32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) out[r] = argmaxRowCpu(x, r, cols);
}

/** CPU reference: how many rows have their highest score at their label. */
export function countCorrectCpu(scores: Floats, labels: Labels, rows: number, cols: number): number {
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const label = labels instanceof Uint32Array ? labels[r]! : argmaxRowCpu(labels, r, cols);
    if (argmaxRowCpu(scores, r, cols) === label) correct++;
  }
  return correct;
}
