import code from '../../shaders/sparse.wgsl?raw';
import type { Activation } from '../backend/ops.js';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import { GpuTensor } from '../tensor/gpu-tensor.js';
import { ShapeError, shapeStr, type Shape } from '../tensor/shape.js';
import { dims, grid1d } from './grid.js';
import { activate, checkBias, matmulDims, type MatmulDims } from './matmul.js';
import { SPARSE_WORKGROUP, sparseCompressSource, sparseMatmulSource, sparseMatmulWorkgroups } from './sparse-unrolled.js';

/**
 * Sparse x dense products for inputs that are mostly zeros (MNIST batches: ~81%), from
 * shaders/sparse.wgsl. A training step's first layer records:
 *
 *   const lists = sparseListsTensor(ctx, x);                      // once; kept across steps
 *   sparseCompressGpu(ctx, x, lists);                             // each step, as soon as x is gathered
 *   sparseMatmulGpu(ctx, x, lists, W1, b1, y);                    // forward: x·W1 + b1
 *   sparseMatmulGpu(ctx, x, lists, dout, undefined, dW1, { transA: true });   // backward: xᵀ·dout
 *
 * With `order` (see imageStripOrder) the backward lists come out shorter; the same order must
 * then go to the compress and to the transposed product.
 */

/**
 * Block shape: `panel` rows of op(A) share one list of nonzero columns and form the height of
 * the register block, `tn` is its width, `workgroup` the matmul's invocations per workgroup.
 * Tests and the benchmark vary it; callers leave the default.
 */
export interface SparseTiling {
  panel: number;
  tn: number;
  workgroup: number;
  /** Compress with the panel's loads written out (else the loop form in shaders/sparse.wgsl). */
  unrolledCompress: boolean;
}

/** 10 x 10, as the dense unrolled matmul: measured best at the seed's shapes (bench/matmul-explore/RESULTS.md). */
export const SPARSE_TILING: SparseTiling = { panel: 10, tn: 10, workgroup: SPARSE_WORKGROUP, unrolledCompress: true };

/** The sparse product's form. */
export interface SparseOptions {
  /** op(A) is Aᵀ: A is stored [K, M]. */
  transA?: boolean;
  activation?: Activation;
}

/** The order in which xᵀ's panels take x's columns. */
export interface SparseOrder {
  /**
   * u32 [C] for A stored [R, C]: a permutation of A's columns, taken PANEL at a time to form
   * the panels of Aᵀ (default 0, 1, 2, ...). Used by the compress and by transposed products.
   */
  order?: GpuTensor;
}

/** Must match COMPRESS_WG in shaders/sparse.wgsl. */
const COMPRESS_WORKGROUP = 4;

const ACTIVATION_CODE: Record<Activation, number> = { none: 0, relu: 1, sigmoid: 2 };

const sources = new Map<string, string>();

function tilingName(t: SparseTiling): string {
  return `${t.panel}x${t.tn}w${t.workgroup}${t.unrolledCompress ? 'u' : ''}`;
}

/** The family file with this tiling's generated entry points appended (one module per tiling). */
function sourceFor(t: SparseTiling): string {
  const name = tilingName(t);
  let s = sources.get(name);
  if (!s) {
    s = code + '\n' + sparseMatmulSource(t.panel, t.tn, t.workgroup) + (t.unrolledCompress ? sparseCompressSource(t.panel) : '');
    sources.set(name, s);
  }
  return s;
}

/** The pipeline that lists the nonzero columns (and rows) of each panel of a data batch. */
export function sparseCompressKernel(hasOrder: boolean, t: SparseTiling = SPARSE_TILING): KernelSpec {
  return {
    family: 'sparse',
    code: sourceFor(t),
    variant: tilingName(t),
    entryPoint: t.unrolledCompress ? 'sparse_compress_unrolled' : 'sparse_compress',
    constants: { PANEL: t.panel, HAS_ORDER: hasOrder },
  };
}

/** The pipeline of one sparse product form. */
export function sparseMatmulKernel(opts: SparseOptions, hasBias: boolean, hasOrder: boolean, t: SparseTiling = SPARSE_TILING): KernelSpec {
  return {
    family: 'sparse',
    code: sourceFor(t),
    variant: tilingName(t),
    entryPoint: 'sparse_matmul_unrolled',
    constants: {
      TRANS_A: !!opts.transA,
      HAS_BIAS: hasBias,
      ACTIVATION: ACTIVATION_CODE[opts.activation ?? 'none'],
      PANEL: t.panel,
      // Only transposed products read the order: the pipeline without it serves the forward.
      HAS_ORDER: hasOrder && !!opts.transA,
    },
  };
}

/**
 * The pipelines of a first layer's sparse step, for PipelineCache.prepare: the compress, the
 * forward x·W + b (then `activation`, if fused) and the weight gradient xᵀ·dout.
 */
export function sparseTrainingKernels(activation: Activation = 'none', hasOrder = false, t: SparseTiling = SPARSE_TILING): KernelSpec[] {
  return [sparseCompressKernel(hasOrder, t), sparseMatmulKernel({ activation }, true, hasOrder, t), sparseMatmulKernel({ transA: true }, false, hasOrder, t)];
}

function matrix(a: Shape): [number, number] {
  if (a.length !== 2) throw new ShapeError(`sparse: A must be a matrix, got ${shapeStr(a)}`);
  return [a[0]!, a[1]!];
}

/**
 * Length of the u32 tensor `sparseCompressGpu` fills for A of stored shape [R, C]: a list of
 * C + 1 words per panel of A's rows, then R + 1 words per panel of its columns.
 */
export function sparseListsShape(a: Shape, t: SparseTiling = SPARSE_TILING): [number] {
  const [R, C] = matrix(a);
  return [Math.ceil(R / t.panel) * (C + 1) + Math.ceil(C / t.panel) * (R + 1)];
}

/**
 * A u32 tensor of `sparseListsShape` from the context's pool (contents undefined until
 * sparseCompressGpu writes them). The caller disposes it after recording the last product that
 * reads it, or keeps it across steps (a step that compresses into it again allocates nothing).
 */
export function sparseListsTensor(ctx: GpuContext, a: GpuTensor, t: SparseTiling = SPARSE_TILING): GpuTensor {
  return GpuTensor.empty(ctx, sparseListsShape(a.shape, t), 'u32');
}

function checkLists(lists: GpuTensor, a: Shape, t: SparseTiling): void {
  const want = sparseListsShape(a, t);
  if (lists.dtype !== 'u32' || lists.shape.length !== 1 || lists.shape[0] !== want[0]) {
    throw new ShapeError(`sparse: the lists for A${shapeStr(a)} must be a u32 tensor of shape ${shapeStr(want)}, got ${lists.dtype} ${shapeStr(lists.shape)}`);
  }
}

function checkOrder(order: GpuTensor | undefined, a: Shape): void {
  const columns = a[1]!;
  if (order && (order.dtype !== 'u32' || order.shape.length !== 1 || order.shape[0] !== columns)) {
    throw new ShapeError(`sparse: the order of A${shapeStr(a)}'s columns must be a u32 tensor of shape [${columns}], got ${order.dtype} ${shapeStr(order.shape)}`);
  }
}

/**
 * Records the compress of A (f32, stored [R, C]) into `lists` (u32, `sparseListsShape(a.shape)`):
 * for each panel of A's rows, the columns where any of its rows is nonzero, and for each panel
 * of A's columns, the rows where any of them is nonzero. Reads A (and `order`), writes only
 * `lists`. One dispatch serves every `sparseMatmulGpu` on this A, with or without transA (a
 * training step's x·W1 and xᵀ·dout), until A changes.
 */
export function sparseCompressGpu(ctx: GpuContext, a: GpuTensor, lists: GpuTensor, { order }: SparseOrder = {}, t: SparseTiling = SPARSE_TILING): void {
  const [R, C] = matrix(a.shape);
  checkLists(lists, a.shape, t);
  checkOrder(order, a.shape);
  ctx.dispatch({
    kernel: sparseCompressKernel(!!order, t),
    params: [R, 0, C, 0],
    buffers: [a.buffer, undefined, undefined, undefined, undefined, lists.buffer, order?.buffer ?? ctx.placeholder],
    workgroups: grid1d(Math.ceil(R / t.panel) + Math.ceil(C / t.panel), COMPRESS_WORKGROUP),
    shapes: `A${dims(a.shape)}${order ? `, order[${C}]` : ''} → lists${dims(lists.shape)} (panels of ${t.panel} rows of A and of Aᵀ)`,
  });
}

/**
 * Records C[M,N] = op(A)·B (+ bias[N]) (activation), skipping the zero columns of each panel of
 * op(A). A is f32 [M,K] ([K,M] with transA), B f32 [K,N] (not transposed), bias f32 [N] or
 * undefined, C f32 [M,N], written in full. `lists` must hold sparseCompressGpu's result for this
 * A with the same order and tiling, recorded earlier (in this step, or any time since A last
 * changed). The caller owns and disposes every tensor.
 * The sums run over the same k in the same order as the dense kernels, minus exact zeros, so
 * the result equals matmulGpu's except where a zero of A meets an infinite or NaN value of B
 * (0·inf is skipped here, NaN there), as in the CPU backend.
 */
export function sparseMatmulGpu(
  ctx: GpuContext,
  a: GpuTensor,
  lists: GpuTensor,
  b: GpuTensor,
  bias: GpuTensor | undefined,
  c: GpuTensor,
  opts: SparseOptions & SparseOrder = {},
  t: SparseTiling = SPARSE_TILING,
): void {
  const d = matmulDims(a.shape, b.shape, { transA: opts.transA });
  checkLists(lists, a.shape, t);
  checkOrder(opts.order, a.shape);
  if (bias) checkBias(bias.shape, d.N);
  if (c.shape.length !== 2 || c.shape[0] !== d.M || c.shape[1] !== d.N) {
    throw new ShapeError(`sparse: C must have shape [${d.M}, ${d.N}], got ${shapeStr(c.shape)}`);
  }
  const order = opts.transA ? opts.order : undefined;
  const act = opts.activation && opts.activation !== 'none' ? ` → ${opts.activation}` : '';
  ctx.dispatch({
    kernel: sparseMatmulKernel(opts, !!bias, !!order, t),
    params: [d.M, d.N, d.K, 0],
    buffers: [a.buffer, lists.buffer, b.buffer, bias?.buffer ?? ctx.placeholder, c.buffer, undefined, order?.buffer ?? ctx.placeholder],
    workgroups: sparseMatmulWorkgroups(d.M, d.N, t.panel, t.tn, t.workgroup),
    shapes: `sparse A${dims(a.shape)}${opts.transA ? 'ᵀ' : ''} · B${dims(b.shape)}${bias ? ` + bias${dims(bias.shape)}` : ''}${act} → C${dims(c.shape)}`,
  });
}

/**
 * The pixels of a height x width image (row-major) in strips of `strip` rows, each strip
 * walked column by column: ten consecutive entries are then a 5 x 2 patch for strip = 5, and a
 * digit's strokes cover patches rather than 10-pixel runs of one row. As the order of an MNIST
 * batch's columns it cuts the lists of xᵀ by a quarter (33 rows per panel instead of 44).
 */
export function imageStripOrder(height: number, width: number, strip = 5): Uint32Array {
  const order = new Uint32Array(height * width);
  let i = 0;
  for (let y0 = 0; y0 < height; y0 += strip) {
    for (let x = 0; x < width; x++) {
      for (let y = y0; y < Math.min(height, y0 + strip); y++) order[i++] = y * width + x;
    }
  }
  return order;
}

type Floats = Float32Array | Float64Array;

/** Where panel p's list of op(A) [M, K] starts: the lists of op(A) = Aᵀ follow those of op(A) = A. */
export function listBase(M: number, K: number, transA: boolean, panel: number, p: number): number {
  return (transA ? Math.ceil(K / panel) * (M + 1) : 0) + p * (K + 1);
}

/** Row r of a panel of op(A), as placed by the order (which only Aᵀ's panels follow). */
const panelRow = (r: number, transA: boolean, order: Uint32Array | undefined) => (transA && order ? order[r]! : r);

/**
 * CPU reference of sparse_compress, for A stored [R, C]: the lists as the GPU lays them out
 * (per panel: the count, then the nonzero columns ascending; unused slots 0 here, undefined on
 * the GPU).
 */
export function sparseCompressCpu(a: Floats, R: number, C: number, panel: number, order?: Uint32Array): Uint32Array {
  const lists = new Uint32Array(sparseListsShape([R, C], { ...SPARSE_TILING, panel })[0]);
  for (const transA of [false, true]) {
    const [M, K] = transA ? [C, R] : [R, C];
    for (let p = 0; p < Math.ceil(M / panel); p++) {
      const base = listBase(M, K, transA, panel, p);
      const rows = [];
      for (let i = p * panel; i < Math.min(M, (p + 1) * panel); i++) rows.push(panelRow(i, transA, order));
      let count = 0;
      for (let k = 0; k < K; k++) {
        if (rows.some((m) => (transA ? a[k * M + m]! : a[m * K + k]!) !== 0)) lists[base + 1 + count++] = k;
      }
      lists[base] = count;
    }
  }
  return lists;
}

/**
 * CPU reference of sparse_matmul_unrolled: the same sum over each panel's listed columns only,
 * accumulated in float64, then the epilogue.
 */
export function sparseMatmulCpu(
  a: Floats,
  lists: Uint32Array,
  b: Floats,
  bias: Floats | undefined,
  c: Floats,
  d: MatmulDims,
  opts: SparseOptions,
  panel: number,
  order?: Uint32Array,
): void {
  const { M, N, K } = d;
  const transA = !!opts.transA;
  const row = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    const m = panelRow(i, transA, order);
    const base = listBase(M, K, transA, panel, Math.floor(i / panel));
    row.fill(0);
    for (let j = 0; j < lists[base]!; j++) {
      const k = lists[base + 1 + j]!;
      const amk = transA ? a[k * M + m]! : a[m * K + k]!;
      for (let n = 0; n < N; n++) row[n]! += amk * b[k * N + n]!;
    }
    for (let n = 0; n < N; n++) c[m * N + n] = activate(row[n]! + (bias ? bias[n]! : 0), opts.activation);
  }
}
