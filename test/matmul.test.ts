import { beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { GpuBackend } from '../src/backend/gpu-backend.js';
import type { Activation } from '../src/backend/ops.js';
import { BufferPool } from '../src/gpu/buffer-pool.js';
import { matmulCpu, matmulGpu, MATMUL_VARIANTS, splitkChunks, type MatmulVariant } from '../src/kernels/matmul.js';
import { GpuTensor } from '../src/tensor/gpu-tensor.js';
import { ShapeError } from '../src/tensor/shape.js';
import { EPS32, expectClose, randomArray } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';

const { ctx, gpu } = useGpu();
const cpu = new CpuBackend('f64');

beforeAll(() => {
  ctx().pool.poison = true;
});

/**
 * (M, N, K) such that each of 1, 7, 63, 64, 65, 100, 784, 1000 appears in every dimension,
 * with products small enough for a software adapter.
 */
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [7, 7, 7], [1, 7, 1000], [7, 1000, 1], [1000, 1, 7],
  [63, 64, 65], [64, 65, 63], [65, 63, 64], [100, 50, 784], [784, 100, 50],
  [7, 784, 100], [1000, 7, 64], [1, 1000, 784], [63, 1, 1000], [100, 63, 7],
];
const TRANSPOSES = [
  [false, false], [true, false], [false, true], [true, true],
] as const;

/** Stored operands for op(A)[M,K] and op(B)[K,N]. */
function operands(M: number, N: number, K: number, transA: boolean, transB: boolean, seed: number) {
  return {
    a: randomArray(M * K, seed),
    b: randomArray(K * N, seed + 1),
    aShape: transA ? [K, M] : [M, K],
    bShape: transB ? [N, K] : [K, N],
  };
}

/**
 * The rounding error of a float32 dot product of length K is at most about K·eps·Σ|a||b|; the
 * tolerance is that bound per element (computed from |A|·|B| in float64), which stays tight for
 * small K and grows where accumulation really loses bits.
 */
function tolerance(a: Float32Array, b: Float32Array, M: number, N: number, K: number, transA: boolean, transB: boolean, bias?: Float32Array) {
  const absProd = new Float64Array(M * N);
  matmulCpu(a.map(Math.abs), b.map(Math.abs), bias?.map(Math.abs), absProd, { M, N, K }, { transA, transB });
  return absProd.map((v) => 2 * (K + 2) * EPS32 * v + 1e-30);
}

async function check(variant: MatmulVariant, M: number, N: number, K: number, transA: boolean, transB: boolean, activation: Activation = 'none', withBias = false) {
  const g = new GpuBackend(ctx(), { matmulVariant: variant });
  const { a, b, aShape, bShape } = operands(M, N, K, transA, transB, M * 31 + N * 7 + K);
  const bias = withBias ? randomArray(N, K + 5) : undefined;
  const gb = bias && g.fromArray(bias, [N]);
  const ga = g.fromArray(a, aShape);
  const gB = g.fromArray(b, bShape);
  const c = g.matmul(ga, gB, { transA, transB, activation, bias: gb });
  expect(c.shape).toEqual([M, N]);
  const out = await g.read(c);
  const ref = cpu.matmul(cpu.fromArray(a, aShape), cpu.fromArray(b, bShape), {
    transA, transB, activation, bias: bias && cpu.fromArray(bias, [N]),
  });
  expectClose(out, ref.data, tolerance(a, b, M, N, K, transA, transB, bias), `${variant} ${M}x${N}x${K} tA=${transA} tB=${transB} ${activation}`);
  // The pool rounds each buffer up and poisons it with NaN, so a store past M·N (a row or column
  // mask gone wrong in the last tile) shows in the tail that the product does not own.
  const whole = new Float32Array(await ctx().read(c.buffer, BufferPool.roundSize(M * N * 4)));
  expect(whole.subarray(M * N).every(Number.isNaN), `${variant} ${M}x${N}x${K} wrote past its output`).toBe(true);
  g.dispose(ga, gB, gb, c);
}

describe.each(['blocked', 'unrolled'] as const)('matmul %s against the float64 CPU reference', (variant) => {
  it.each(SHAPES)('%i x %i x %i, every transpose', async (M, N, K) => {
    for (const [transA, transB] of TRANSPOSES) await check(variant, M, N, K, transA, transB);
  });

  it.each(['relu', 'sigmoid', 'none'] as const)('fused bias + %s epilogue', async (activation) => {
    for (const [M, N, K] of [[100, 50, 784], [65, 7, 63], [1, 1, 1]] as const) {
      for (const [transA, transB] of TRANSPOSES) await check(variant, M, N, K, transA, transB, activation, true);
    }
  });
});

// The tiled kernel is the hardware variant: on a software adapter each pipeline takes seconds
// to compile and its barriers make it slow, so it is checked on fewer, smaller shapes (still
// covering partial tiles in every dimension, and K not a multiple of the 16-deep stage).
describe('matmul tiled against the float64 CPU reference', () => {
  it.each([[1, 1, 1], [65, 63, 17], [100, 50, 784], [130, 7, 33]] as const)('%i x %i x %i, every transpose', async (M, N, K) => {
    for (const [transA, transB] of TRANSPOSES) await check('tiled', M, N, K, transA, transB);
  });
  it('fused bias + relu', async () => {
    await check('tiled', 70, 66, 20, false, false, 'relu', true);
  });
});

// The 128x128 hardware variant, on shapes chosen for its edges: partial tiles in M, N and K
// (129, 131, 257 and K = 9 or 130, not multiples of the 8-deep stage), a single element, one
// dimension under one sub-block's 64 while the other spans two tiles, and whole tiles with
// both 4x4 sub-blocks of every invocation in range (256x256x64).
describe('matmul tiled128 against the float64 CPU reference', () => {
  it.each([[1, 1, 1], [129, 131, 9], [257, 3, 130], [3, 257, 17], [256, 256, 64]] as const)('%i x %i x %i, every transpose', async (M, N, K) => {
    for (const [transA, transB] of TRANSPOSES) await check('tiled128', M, N, K, transA, transB);
  });
  it('fused bias + relu and + sigmoid', async () => {
    await check('tiled128', 129, 131, 9, true, false, 'relu', true);
    await check('tiled128', 70, 200, 20, false, true, 'sigmoid', true);
  });
});

// Split K: shapes chosen for partial tiles and chunks (splitkChunks): 65x3x1000 runs 13 chunks
// of 80, the last 40 deep (two and a half stages); 3x70x513 7 of 80, the last 33; 100x100x4320,
// SimpleConvNet's Affine1, 54 of 80 over 2x2 partial tiles; 129x131x9 and 1x1x1 a single short
// chunk. SimpleConvNet's product runs in its training form (bias, ReLU) only (a second of
// SwiftShader each); the others every transpose, which compiles the first pass's four pipelines.
describe('matmul splitk against the float64 CPU reference', () => {
  it.each([[1, 1, 1], [65, 3, 1000], [3, 70, 513], [129, 131, 9]] as const)('%i x %i x %i, every transpose', async (M, N, K) => {
    for (const [transA, transB] of TRANSPOSES) await check('splitk', M, N, K, transA, transB);
  });
  it('SimpleConvNet Affine1 100 x 100 x 4320 + bias → relu', async () => {
    await check('splitk', 100, 100, 4320, false, false, 'relu', true);
  });
  it('fused bias + relu and + sigmoid on partial chunks', async () => {
    await check('splitk', 65, 3, 1000, true, false, 'relu', true);
    await check('splitk', 3, 70, 513, false, true, 'sigmoid', true);
    await check('splitk', 129, 131, 9, true, true, 'sigmoid', true);
  });

  it('records two dispatches (partial sums, then their sum) and frees its scratch for the next submit', async () => {
    const c = ctx();
    const [M, N, K] = [65, 3, 1000];
    const a = GpuTensor.from(c, randomArray(M * K, 1), [M, K]);
    const b = GpuTensor.from(c, randomArray(K * N, 2), [K, N]);
    const out = GpuTensor.empty(c, [M, N]);
    await c.finish();
    const before = c.dispatches;
    const inUse = c.pool.stats().buffersInUse;
    matmulGpu(c, a, b, undefined, out, {}, 'splitk');
    expect(c.dispatches - before).toBe(2);
    expect(c.pool.stats().buffersInUse).toBe(inUse);
    await c.finish();
    expect(c.lastTrace.map((d) => [d.kernel.replace(/\[.*/, ''), d.workgroups])).toEqual([
      ['matmul.matmul_splitk', [1, 2, 13]],
      ['matmul.matmul_splitk_sum', [Math.ceil((M * N) / 64), 1, 1]],
    ]);
    // After the submit the pool hands the scratch out again instead of allocating.
    const allocated = c.pool.stats().buffersAllocated;
    matmulGpu(c, a, b, undefined, out, {}, 'splitk');
    await c.finish();
    expect(c.pool.stats().buffersAllocated).toBe(allocated);
    a.dispose();
    b.dispose();
    out.dispose();
  });

  it('chooses the chunks by its rule', () => {
    // Affine1 forward of SimpleConvNet, DeepConvNet and the TwoLayerNet: 4, 2 and 2 tiles.
    expect(splitkChunks({ M: 100, N: 100, K: 4320 })).toEqual({ chunks: 54, depth: 80 });
    expect(splitkChunks({ M: 100, N: 50, K: 1024 })).toEqual({ chunks: 16, depth: 64 });
    expect(splitkChunks({ M: 100, N: 50, K: 784 })).toEqual({ chunks: 10, depth: 80 });
    // SimpleConvNet's dW and dx: K = 100 is under two chunks' minimum depth.
    expect(splitkChunks({ M: 4320, N: 100, K: 100 })).toEqual({ chunks: 1, depth: 112 });
    expect(splitkChunks({ M: 100, N: 4320, K: 100 })).toEqual({ chunks: 1, depth: 112 });
    // Enough tiles already: one chunk.
    expect(splitkChunks({ M: 1024, N: 1024, K: 4096 })).toEqual({ chunks: 1, depth: 4096 });
    expect(splitkChunks({ M: 1, N: 1, K: 1 })).toEqual({ chunks: 1, depth: 16 });
    // One tile and a very long K: at most 64 chunks.
    expect(splitkChunks({ M: 10, N: 10, K: 100_000 })).toEqual({ chunks: 64, depth: 1568 });
    // The scratch must fit one storage binding.
    expect(splitkChunks({ M: 100, N: 100, K: 4320 }, 5 * 100 * 100 * 4)).toEqual({ chunks: 5, depth: 864 });
    expect(splitkChunks({ M: 100, N: 100, K: 0 })).toEqual({ chunks: 0, depth: 16 });
    for (let M = 1; M < 300; M += 37) {
      for (let N = 1; N < 300; N += 41) {
        for (const K of [1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 500, 1000, 4320, 9999, 65_536]) {
          const { chunks, depth } = splitkChunks({ M, N, K });
          const where = `${M}x${N}x${K}: ${chunks} x ${depth}`;
          expect(depth % 16, where).toBe(0);
          expect((chunks - 1) * depth < K && K <= chunks * depth, where).toBe(true);
          expect(chunks <= 64 && chunks <= Math.ceil(K / 16), where).toBe(true);
          if (chunks > 1) expect(depth, where).toBeGreaterThanOrEqual(64);
          if (chunks > 1) expect(Math.ceil(M / 64) * Math.ceil(N / 64) * (chunks - 1), where).toBeLessThan(256);
        }
      }
    }
  });
});

describe('matmul shape errors', () => {
  it('names both shapes when inner dimensions differ', () => {
    const a = gpu().zeros([3, 4]);
    const b = gpu().zeros([5, 2]);
    expect(() => gpu().matmul(a, b)).toThrow(ShapeError);
    expect(() => gpu().matmul(a, b)).toThrow('A[3, 4] · B[5, 2]');
    expect(() => cpu.matmul(cpu.zeros([3, 4]), cpu.zeros([5, 2]))).toThrow('(4 vs 5)');
    gpu().dispose(a, b);
  });
  it('checks the bias against the output columns', () => {
    expect(() => cpu.matmul(cpu.zeros([3, 4]), cpu.zeros([4, 2]), { bias: cpu.zeros([3]) })).toThrow('bias must have shape [2]');
  });
  it('refuses non-matrices', () => {
    expect(() => cpu.matmul(cpu.zeros([3]), cpu.zeros([3, 2]))).toThrow('both operands must be matrices');
  });
});

it('lists every variant it tests', () => {
  expect([...MATMUL_VARIANTS].sort()).toEqual(['blocked', 'splitk', 'tiled', 'tiled128', 'unrolled']);
});
