import code from '../../shaders/matmul.wgsl?raw';
import type { Activation, MatmulOptions } from '../backend/ops.js';
import type { AdapterDescription } from '../device/adapter-info.js';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import { ShapeError, shapeStr, type Shape } from '../tensor/shape.js';
import { GpuTensor } from '../tensor/gpu-tensor.js';
import { dims, grid1d } from './grid.js';
import { unrolledMatmulSource, unrolledWorkgroups } from './matmul-unrolled.js';

/** C [M, N] = op(A) [M, K] · op(B) [K, N]. */
export interface MatmulDims {
  M: number;
  N: number;
  K: number;
}

/**
 * Variants of the GPU kernel (see the header of shaders/matmul.wgsl):
 *   blocked   4x4 register block per invocation, as a plain loop: the readable one
 *   unrolled  10x10 register block written out by src/kernels/matmul-unrolled.ts
 *   tiled     64x64 workgroup tiles through shared memory, with barriers
 *   tiled128  128x128 tiles, 8x8 per invocation: the classic SGEMM layout for large products on
 *             hardware, aimed at #16's 4096³ target. Never a default until the device bench has
 *             timed it against `tiled` on a GPU.
 *   splitk    `tiled`'s 64x64 tiles over chunks of K (splitkChunks), then a pass that adds the
 *             chunks' partial sums: for hardware, where a small output with a long inner
 *             dimension (the convnets' Affine1, [100,4320]·[4320,100]) gives `tiled` 2-4
 *             workgroups for a GPU of 100+ cores. Never a default until the device bench has
 *             timed it against `tiled` on a GPU.
 */
export type MatmulVariant = 'blocked' | 'unrolled' | 'tiled' | 'tiled128' | 'splitk';
/** Every variant, for the tests that run them all and the bench that times them all. */
export const MATMUL_VARIANTS: readonly MatmulVariant[] = ['blocked', 'unrolled', 'tiled', 'tiled128', 'splitk'];

const UNROLLED_BLOCK = 10;

/**
 * Barriers are what software adapters do worst and workgroup memory is what hardware does
 * best. Measured on SwiftShader at 100x50x784: tiled 63 ms, blocked 40-60 ms, unrolled 3.3 ms.
 */
export function defaultMatmulVariant(adapter: AdapterDescription): MatmulVariant {
  return adapter.software ? 'unrolled' : 'tiled';
}

/** Checks op(A)·op(B) fits, naming both shapes when it does not. */
export function matmulDims(a: Shape, b: Shape, opts: MatmulOptions = {}): MatmulDims {
  if (a.length !== 2 || b.length !== 2) {
    throw new ShapeError(`matmul: both operands must be matrices, got A ${shapeStr(a)} and B ${shapeStr(b)}`);
  }
  const [M, Ka] = opts.transA ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
  const [Kb, N] = opts.transB ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
  if (Ka !== Kb) {
    const opA = opts.transA ? `A${shapeStr(a)}ᵀ` : `A${shapeStr(a)}`;
    const opB = opts.transB ? `B${shapeStr(b)}ᵀ` : `B${shapeStr(b)}`;
    throw new ShapeError(`matmul: inner dimensions differ in ${opA} · ${opB} (${Ka} vs ${Kb})`);
  }
  return { M, N, K: Ka };
}

/** Refuses a bias that is not [N] for a product of N columns. */
export function checkBias(bias: Shape, n: number): void {
  if (bias.length !== 1 || bias[0] !== n) {
    throw new ShapeError(`matmul: bias must have shape [${n}] to match the output columns, got ${shapeStr(bias)}`);
  }
}

const ACTIVATION_CODE: Record<Activation, number> = { none: 0, relu: 1, sigmoid: 2 };

const unrolledCode = code + '\n' + unrolledMatmulSource(UNROLLED_BLOCK, UNROLLED_BLOCK);

const ENTRY_POINTS: Record<MatmulVariant, string> = {
  blocked: 'matmul_blocked',
  unrolled: 'matmul_unrolled',
  tiled: 'matmul_tiled',
  tiled128: 'matmul_tiled128',
  splitk: 'matmul_splitk',
};

/**
 * The pipeline of one matmul form (transposes, activation, bias) in one variant; for `splitk`
 * its first pass, which depends on the transposes only (the sum pass: splitkSumKernel).
 */
export function matmulKernel(variant: MatmulVariant, opts: MatmulOptions, hasBias: boolean): KernelSpec {
  if (variant === 'splitk') {
    return { family: 'matmul', code, entryPoint: 'matmul_splitk', constants: { TRANS_A: !!opts.transA, TRANS_B: !!opts.transB } };
  }
  return {
    family: 'matmul',
    code: variant === 'unrolled' ? unrolledCode : code,
    entryPoint: ENTRY_POINTS[variant],
    constants: {
      TRANS_A: !!opts.transA,
      TRANS_B: !!opts.transB,
      HAS_BIAS: hasBias,
      ACTIVATION: ACTIVATION_CODE[opts.activation ?? 'none'],
    },
  };
}

/** splitk's second pass, which depends on the epilogue only: one pipeline per (bias, activation). */
export function splitkSumKernel(opts: MatmulOptions, hasBias: boolean): KernelSpec {
  return {
    family: 'matmul',
    code,
    entryPoint: 'matmul_splitk_sum',
    constants: { HAS_BIAS: hasBias, ACTIVATION: ACTIVATION_CODE[opts.activation ?? 'none'] },
  };
}

/** How `splitk` divides K: `chunks` chunks of `depth` (the last one shorter where K is not a multiple). */
export interface SplitK {
  chunks: number;
  depth: number;
}

/**
 * Workgroups the chunks should bring the grid to: about two per SM of the largest GPUs (132 on
 * an H100), one wave with every SM busy, where `tiled` gives SimpleConvNet's Affine1 four.
 */
const SPLITK_TARGET_WORKGROUPS = 256;
/**
 * No chunk is shallower than four 16-deep stages: per workgroup, the 64x64 partial it writes
 * and the sum pass reads again (32 KiB of traffic) must stay small beside its 64·64·depth
 * multiply-adds (at 64: 8 per byte, about an H100's ratio of FMA rate to memory bandwidth; the
 * partials of a long-K product, a few MB, mostly stay in L2).
 */
const SPLITK_MIN_DEPTH = 64;
/** The sum pass adds the chunks one after another per output: 64 keeps that loop and the scratch (64·M·N floats) bounded. */
const SPLITK_MAX_CHUNKS = 64;
/** matmul_tiled's staging depth (BK in shaders/matmul.wgsl): a chunk is whole stages, all but the last full. */
const SPLITK_STAGE = 16;

/**
 * The K split of `splitk` for a product: as many chunks as bring ceil(M/64)·ceil(N/64) tiles to
 * about 256 workgroups, but no chunk under 64 deep, at most 64 chunks, and a scratch of
 * chunks·M·N floats within `maxBindingBytes` (the adapter's maxStorageBufferBindingSize). The
 * depth is rounded up to whole 16-deep stages, which can only lower the count, so chunks never
 * exceed ceil(K / 16) and none is empty. K = 0 gives no chunks (the sum pass then writes the
 * epilogue of 0). SimpleConvNet's Affine1 forward, 100x100x4320: 54 chunks of 80 (216
 * workgroups); DeepConvNet's, 100x50x1024: 16 of 64; a short K (its dW and dx, K = 100): one.
 */
export function splitkChunks({ M, N, K }: MatmulDims, maxBindingBytes = 128 * 2 ** 20): SplitK {
  const tiles = Math.ceil(M / 64) * Math.ceil(N / 64);
  const wanted = Math.ceil(SPLITK_TARGET_WORKGROUPS / Math.max(tiles, 1));
  const fits = Math.floor(maxBindingBytes / (4 * Math.max(M * N, 1)));
  const chunks = Math.max(1, Math.min(wanted, SPLITK_MAX_CHUNKS, Math.floor(K / SPLITK_MIN_DEPTH), fits));
  const depth = Math.max(SPLITK_STAGE, Math.ceil(Math.ceil(K / chunks) / SPLITK_STAGE) * SPLITK_STAGE);
  return { chunks: Math.ceil(K / depth), depth };
}

function workgroups(variant: MatmulVariant, { M, N }: MatmulDims): [number, number] {
  if (variant === 'tiled') return [Math.ceil(N / 64), Math.ceil(M / 64)];
  if (variant === 'tiled128') return [Math.ceil(N / 128), Math.ceil(M / 128)];
  if (variant === 'unrolled') return unrolledWorkgroups(M, N, UNROLLED_BLOCK, UNROLLED_BLOCK);
  return [Math.ceil(N / 32), Math.ceil(M / 32)];
}

/** Records C = op(A)·op(B) (+ bias) (activation) into the context's current step. */
export function matmulGpu(
  ctx: GpuContext,
  a: GpuTensor,
  b: GpuTensor,
  bias: GpuTensor | undefined,
  c: GpuTensor,
  opts: MatmulOptions,
  variant: MatmulVariant,
): void {
  const d = matmulDims(a.shape, b.shape, opts);
  const product = `A${dims(a.shape)}${opts.transA ? 'ᵀ' : ''} · B${dims(b.shape)}${opts.transB ? 'ᵀ' : ''}`;
  const epilogue = `${bias ? ` + bias${dims(bias.shape)}` : ''}${opts.activation && opts.activation !== 'none' ? ` → ${opts.activation}` : ''}`;
  if (variant === 'splitk') {
    splitkGpu(ctx, d, a, b, bias, c, opts, product, epilogue);
    return;
  }
  const note = `${product}${epilogue} → C${dims(c.shape)}`;
  ctx.dispatch({
    kernel: matmulKernel(variant, opts, !!bias),
    params: [d.M, d.N, d.K, 0],
    // Without bias the binding is still declared (the epilogue names it), so it gets a placeholder.
    buffers: [a.buffer, b.buffer, bias?.buffer ?? ctx.placeholder, c.buffer],
    workgroups: workgroups(variant, d),
    shapes: note,
  });
}

/**
 * splitk's two dispatches. The partial sums live in a pooled scratch tensor that goes back to
 * the pool once both are recorded; the pool hands it out again only after the submit.
 */
function splitkGpu(
  ctx: GpuContext,
  d: MatmulDims,
  a: GpuTensor,
  b: GpuTensor,
  bias: GpuTensor | undefined,
  c: GpuTensor,
  opts: MatmulOptions,
  product: string,
  epilogue: string,
): void {
  const { chunks, depth } = splitkChunks(d, ctx.maxStorageBufferBindingSize);
  const partial = GpuTensor.empty(ctx, [Math.max(chunks, 1), d.M, d.N]);
  const partialNote = `partial [${chunks},${d.M},${d.N}]`;
  try {
    ctx.dispatch({
      kernel: matmulKernel('splitk', opts, !!bias),
      params: [d.M, d.N, d.K, depth],
      buffers: [a.buffer, b.buffer, undefined, undefined, undefined, partial.buffer],
      workgroups: [Math.ceil(d.N / 64), Math.ceil(d.M / 64), chunks],
      shapes: `${product}, K in ${chunks} chunks of ${depth} → ${partialNote}`,
    });
    ctx.dispatch({
      kernel: splitkSumKernel(opts, !!bias),
      params: [d.M, d.N, d.K, depth],
      // The epilogue names the bias binding even without one, so it gets a placeholder.
      buffers: [undefined, undefined, bias?.buffer ?? ctx.placeholder, c.buffer, partial.buffer],
      workgroups: grid1d(d.M * d.N, 64),
      shapes: `${partialNote}${epilogue} → C${dims(c.shape)}`,
    });
  } finally {
    partial.dispose();
  }
}

type Floats = Float32Array | Float64Array;

/**
 * CPU reference: the same contraction, accumulated in float64 one output row at a time. The
 * loop order follows each operand's storage order so the inner loop walks memory contiguously.
 */
export function matmulCpu(a: Floats, b: Floats, bias: Floats | undefined, c: Floats, d: MatmulDims, opts: MatmulOptions): void {
  const { M, N, K } = d;
  const transA = !!opts.transA;
  const transB = !!opts.transB;
  const row = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    row.fill(0);
    if (!transB) {
      // row += a(i,k) * B[k,:]
      for (let k = 0; k < K; k++) {
        const aik = transA ? a[k * M + i]! : a[i * K + k]!;
        if (aik === 0) continue;
        const off = k * N;
        for (let j = 0; j < N; j++) row[j]! += aik * b[off + j]!;
      }
    } else {
      // B is stored [N,K]: each output is a dot product of two contiguous rows (when A is not transposed).
      for (let j = 0; j < N; j++) {
        const off = j * K;
        let s = 0;
        if (transA) for (let k = 0; k < K; k++) s += a[k * M + i]! * b[off + k]!;
        else {
          const aOff = i * K;
          for (let k = 0; k < K; k++) s += a[aOff + k]! * b[off + k]!;
        }
        row[j] = s;
      }
    }
    const out = i * N;
    for (let j = 0; j < N; j++) c[out + j] = activate(row[j]! + (bias ? bias[j]! : 0), opts.activation);
  }
}

/** CPU reference of the fused activation of a matmul epilogue. */
export function activate(x: number, activation: Activation | undefined): number {
  if (activation === 'relu') return x > 0 ? x : 0;
  if (activation === 'sigmoid') return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
  return x;
}
