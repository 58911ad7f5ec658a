import { beforeAll, describe, expect, it } from 'vitest';
import type { Activation, DataOperand } from '../src/backend/ops.js';
import { matmulCpu } from '../src/kernels/matmul.js';
import {
  imageStripOrder,
  listBase,
  SPARSE_TILING,
  sparseCompressCpu,
  sparseCompressGpu,
  sparseListsShape,
  sparseListsTensor,
  sparseMatmulCpu,
  sparseMatmulGpu,
  type SparseTiling,
} from '../src/kernels/sparse.js';
import { GpuBackend } from '../src/backend/gpu-backend.js';
import { GpuDataset } from '../src/data/gpu-dataset.js';
import { sliceSplit } from '../src/data/mnist.js';
import { Rng, sampleIndices } from '../src/data/rng.js';
import { loadMnist } from '../src/node/load-mnist.js';
import { TwoLayerNet } from '../src/nn/multi-layer-net.js';
import { SGD } from '../src/train/optimizer.js';
import { GpuTensor } from '../src/tensor/gpu-tensor.js';
import { ShapeError } from '../src/tensor/shape.js';
import { EPS32, expectClose, randomArray, thrown } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';

const { ctx } = useGpu();

beforeAll(() => {
  // Fresh pool buffers hold NaN: an output element a kernel forgets to write fails the comparison.
  ctx().pool.poison = true;
});

/**
 * op(A)[M,K] · B[K,N] such that each of 1, 7, 63, 64, 65, 100, 784 appears in every dimension,
 * with products small enough for a software adapter. 100 x 50 x 784 and 784 x 50 x 100 are the
 * seed's forward and weight gradient.
 */
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [7, 7, 7], [1, 7, 784], [7, 784, 1], [784, 1, 7],
  [63, 64, 65], [64, 65, 63], [65, 63, 64], [100, 50, 784], [784, 50, 100],
  [7, 100, 64], [100, 63, 7], [65, 1, 100],
];
const DENSITIES = [0, 0.05, 0.19, 0.5, 1];

/** n values, each nonzero (uniform in ±[0.01, 1]) with probability `density`, else exactly 0. */
function sparseArray(n: number, density: number, seed: number): Float32Array {
  const keep = randomArray(n, seed);
  const values = randomArray(n, seed + 7);
  return values.map((v, i) => ((keep[i]! + 1) / 2 < density ? Math.sign(v || 1) * (0.01 + 0.99 * Math.abs(v)) : 0));
}

/** Plain dense float64 product, no zero skipping: the reference the sparse path must equal. */
function denseF64(a: Float32Array, b: Float32Array, M: number, N: number, K: number, transA: boolean): Float64Array {
  const c = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (transA ? a[k * M + m]! : a[m * K + k]!) * b[k * N + n]!;
      c[m * N + n] = s;
    }
  }
  return c;
}

/**
 * As in test/matmul.test.ts: the rounding error of a float32 dot product of length K is at most
 * about K·eps·Σ|a||b|, so the tolerance is that bound per element, from |A|·|B| (+ |bias|) in
 * float64. Skipping zeros only drops exact-zero terms, so the bound still holds; an all-zero
 * panel gives a tolerance of ~0 and must come out exact.
 */
function tolerance(a: Float32Array, b: Float32Array, bias: Float32Array | undefined, M: number, N: number, K: number, transA: boolean): Float64Array {
  const absProd = new Float64Array(M * N);
  matmulCpu(a.map(Math.abs), b.map(Math.abs), bias?.map(Math.abs), absProd, { M, N, K }, { transA });
  return absProd.map((v) => 2 * (K + 2) * EPS32 * v + 1e-30);
}

/**
 * The lists of both orientations of A [R, C], panel by panel, as [count, ...listed columns]:
 * slots past the count are undefined on the GPU.
 */
function listedColumns(lists: Uint32Array, R: number, C: number, panel: number): number[][] {
  return [false, true].flatMap((transA) => {
    const [M, K] = transA ? [C, R] : [R, C];
    return Array.from({ length: Math.ceil(M / panel) }, (_, p) => {
      const base = listBase(M, K, transA, panel, p);
      const count = lists[base]!;
      return [count, ...lists.slice(base + 1, base + 1 + Math.min(count, K))];
    });
  });
}

interface Case {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  a: Float32Array;
  bias?: Float32Array;
  activation?: Activation;
  tiling?: SparseTiling;
  /** A permutation of A's stored columns (see SparseOrder). */
  order?: Uint32Array;
}

/** Compresses and multiplies on the GPU; checks the lists exactly and C against both CPU references. */
async function check({ M, N, K, transA, a, bias, activation = 'none', tiling = SPARSE_TILING, order }: Case, what: string): Promise<void> {
  const b = randomArray(K * N, M * 13 + N * 5 + K);
  const ga = GpuTensor.from(ctx(), a, transA ? [K, M] : [M, K]);
  const gb = GpuTensor.from(ctx(), b, [K, N]);
  const gbias = bias && GpuTensor.from(ctx(), bias, [N]);
  const gorder = order && GpuTensor.from(ctx(), order, [order.length], 'u32');
  const lists = sparseListsTensor(ctx(), ga, tiling);
  const c = GpuTensor.empty(ctx(), [M, N]);
  sparseCompressGpu(ctx(), ga, lists, { order: gorder }, tiling);
  sparseMatmulGpu(ctx(), ga, lists, gb, gbias, c, { transA, activation, order: gorder }, tiling);

  const [R, C] = transA ? [K, M] : [M, K];
  const cpuLists = sparseCompressCpu(a, R, C, tiling.panel, order);
  expect(listedColumns((await lists.read()) as Uint32Array, R, C, tiling.panel), `${what}: lists`).toEqual(listedColumns(cpuLists, R, C, tiling.panel));

  const got = await c.read();
  const tol = tolerance(a, b, bias, M, N, K, transA);
  const viaList = new Float64Array(M * N);
  sparseMatmulCpu(a, cpuLists, b, bias, viaList, { M, N, K }, { transA, activation }, tiling.panel, order);
  expectClose(got, viaList, tol, `${what}: against the CPU reference`);
  const dense = denseF64(a, b, M, N, K, transA).map((v, i) => {
    const x = v + (bias ? bias[i % N]! : 0);
    return activation === 'relu' ? Math.max(x, 0) : activation === 'sigmoid' ? 1 / (1 + Math.exp(-x)) : x;
  });
  expectClose(got, dense, tol, `${what}: against a dense float64 product`);
  for (const t of [ga, gb, gbias, gorder, lists, c]) t?.dispose();
}

const shapeName = (M: number, N: number, K: number, transA: boolean) => `${M}x${N}x${K}${transA ? ' Aᵀ' : ''}`;

describe('sparse compress + matmul against the CPU reference and a dense float64 product', () => {
  it.each(SHAPES)('%i x %i x %i, both orientations, densities 0 to 1', async (M, N, K) => {
    for (const transA of [false, true]) {
      for (const density of DENSITIES) {
        const a = sparseArray(M * K, density, M + 3 * N + 7 * K + (transA ? 1 : 0));
        await check({ M, N, K, transA, a }, `${shapeName(M, N, K, transA)} density ${density}`);
      }
    }
  });

  it('all-zero rows, columns and whole panels; negative zeros count as zeros', async () => {
    for (const [M, N, K] of [[100, 50, 784], [65, 63, 64], [784, 7, 100]] as const) {
      for (const transA of [false, true]) {
        const a = sparseArray(M * K, 0.3, M + K);
        const at = (m: number, k: number) => (transA ? k * M + m : m * K + k);
        for (let m = 0; m < M; m++) {
          for (let k = 0; k < K; k++) {
            // Rows 0..11 (panel 0 and part of panel 1), every third row, column 0, the last
            // column and columns 20..39 are zero; -0 sits where row 13 would be nonzero.
            if (m < 12 || m % 3 === 0 || k === 0 || k === K - 1 || (k >= 20 && k < 40)) a[at(m, k)] = 0;
            if (m === 13 && a[at(m, k)] !== 0) a[at(m, k)] = -0;
          }
        }
        await check({ M, N, K, transA, a }, `${shapeName(M, N, K, transA)} structured zeros`);
      }
    }
  });

  it.each(['relu', 'sigmoid', 'none'] as const)('fused bias + %s epilogue', async (activation) => {
    for (const [M, N, K] of [[100, 50, 784], [65, 7, 63], [1, 1, 1], [7, 64, 100]] as const) {
      for (const transA of [false, true]) {
        for (const density of [0, 0.19, 1]) {
          const a = sparseArray(M * K, density, M * K + 11);
          const bias = randomArray(N, K + 5);
          await check({ M, N, K, transA, a, bias, activation }, `${shapeName(M, N, K, transA)} density ${density} bias + ${activation}`);
        }
      }
    }
  });

  // Other block shapes: the loop-form compress, CSR (panel 1), and panel and tn that divide none
  // of the dimensions, so every panel and column block has a ragged edge somewhere.
  it.each([
    { panel: 10, tn: 10, workgroup: 8, unrolledCompress: false },
    { panel: 1, tn: 4, workgroup: 4, unrolledCompress: true },
    { panel: 7, tn: 3, workgroup: 8, unrolledCompress: true },
  ])('tiling %o', async (tiling) => {
    for (const [M, N, K] of [[100, 50, 784], [65, 63, 64], [1, 1, 1], [64, 7, 65]] as const) {
      for (const transA of [false, true]) {
        const a = sparseArray(M * K, 0.19, M + N + K);
        await check({ M, N, K, transA, a, bias: randomArray(N, 3), activation: 'relu', tiling }, `${shapeName(M, N, K, transA)} ${JSON.stringify(tiling)}`);
        const order = shuffled(transA ? M : K, M + K);
        await check({ M, N, K, transA, a, tiling, order }, `${shapeName(M, N, K, transA)} ${JSON.stringify(tiling)}, shuffled order`);
      }
    }
  });
});

describe('an order of A\'s columns for the panels of Aᵀ', () => {
  it('imageStripOrder is a permutation that walks strips column by column', () => {
    const order = imageStripOrder(28, 28);
    expect([...order].sort((x, y) => x - y)).toEqual([...Array(784).keys()]);
    // The first panel of ten is the 5 x 2 patch at the top left.
    expect([...order.slice(0, 10)]).toEqual([0, 28, 56, 84, 112, 1, 29, 57, 85, 113]);
    // 28 = 5·5 + 3: the last strip is 3 rows high.
    expect([...order.slice(700, 706)]).toEqual([700, 728, 756, 701, 729, 757]);
    expect([...imageStripOrder(3, 2, 2)]).toEqual([0, 2, 1, 3, 4, 5]);
  });

  it('gives the same products in both orientations, with any permutation', async () => {
    for (const [R, C, N] of [[100, 784, 50], [65, 63, 7], [7, 64, 65], [1, 1, 1]] as const) {
      const orders = [imageStripOrder(1, C), reversed(C), shuffled(C, R + C)];
      if (C === 784) orders.push(imageStripOrder(28, 28));
      for (const order of orders) {
        const a = sparseArray(R * C, 0.19, R * C + 1);
        // The forward ignores the order; the transposed product follows it.
        await check({ M: R, N, K: C, transA: false, a, order, bias: randomArray(N, 2), activation: 'relu' }, `${R}x${C} forward, ordered`);
        await check({ M: C, N, K: R, transA: true, a, order }, `${C}x${R} Aᵀ, ordered`);
      }
    }
  });
});

function reversed(n: number): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => n - 1 - i);
}

function shuffled(n: number, seed: number): Uint32Array {
  const keys = randomArray(n, seed);
  return Uint32Array.from([...Array(n).keys()].sort((x, y) => keys[x]! - keys[y]!));
}

describe('sparse matmul on real MNIST batches (pixels / 255)', () => {
  it('forward x·W1 + b1 and weight gradient xᵀ·dout at the seed shapes, with and without the strip order', async () => {
    const { train } = await loadMnist();
    for (const first of [0, 30_000]) {
      const a = Float32Array.from(train.pixels.subarray(first * 784, (first + 100) * 784), (v) => v / 255);
      await check({ M: 100, N: 50, K: 784, transA: false, a, bias: randomArray(50, 1), activation: 'relu' }, `MNIST ${first} forward`);
      for (const order of [undefined, imageStripOrder(28, 28)]) {
        await check({ M: 784, N: 50, K: 100, transA: true, a, order }, `MNIST ${first} weight gradient${order ? ', strip order' : ''}`);
      }
    }
  });
});

describe('sparse shape errors', () => {
  it('names the lists shape it needs', () => {
    const a = GpuTensor.empty(ctx(), [100, 784]);
    const b = GpuTensor.empty(ctx(), [784, 50]);
    const c = GpuTensor.empty(ctx(), [100, 50]);
    // 10 panels of rows, 785 words each; 79 panels of columns, 101 words each.
    expect(sparseListsShape([100, 784])).toEqual([10 * 785 + 79 * 101]);
    const half = GpuTensor.empty(ctx(), [50, 784]);
    const other = sparseListsTensor(ctx(), half);
    const e = thrown(() => sparseMatmulGpu(ctx(), a, other, b, undefined, c));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toContain('the lists for A[100, 784] must be a u32 tensor of shape [15829], got u32 [7954]');
    const floats = GpuTensor.empty(ctx(), [15829]);
    expect(() => sparseCompressGpu(ctx(), a, floats)).toThrow('got f32 [15829]');
    for (const t of [a, b, c, half, other, floats]) t.dispose();
  });

  it('checks the order against A\'s columns', () => {
    const a = GpuTensor.empty(ctx(), [100, 784]);
    const lists = sparseListsTensor(ctx(), a);
    const rows = GpuTensor.empty(ctx(), [100], 'u32');
    const floats = GpuTensor.empty(ctx(), [784]);
    expect(() => sparseCompressGpu(ctx(), a, lists, { order: rows })).toThrow('the order of A[100, 784]\'s columns must be a u32 tensor of shape [784], got u32 [100]');
    expect(() => sparseCompressGpu(ctx(), a, lists, { order: floats })).toThrow('got f32 [784]');
    for (const t of [a, lists, rows, floats]) t.dispose();
  });

  it('checks A · B, the bias and C as matmul does', () => {
    const a = GpuTensor.empty(ctx(), [100, 784]);
    const lists = sparseListsTensor(ctx(), a);
    const b = GpuTensor.empty(ctx(), [50, 784]);
    const good = GpuTensor.empty(ctx(), [784, 50]);
    const c = GpuTensor.empty(ctx(), [100, 50]);
    const wrongC = GpuTensor.empty(ctx(), [50, 100]);
    const bias = GpuTensor.empty(ctx(), [100]);
    expect(() => sparseMatmulGpu(ctx(), a, lists, b, undefined, c)).toThrow('A[100, 784] · B[50, 784]');
    expect(() => sparseMatmulGpu(ctx(), a, lists, good, bias, c)).toThrow('bias must have shape [50]');
    expect(() => sparseMatmulGpu(ctx(), a, lists, good, undefined, wrongC)).toThrow('C must have shape [100, 50], got [50, 100]');
    for (const t of [a, lists, b, good, c, wrongC, bias]) t.dispose();
  });
});

describe('GpuBackend takes the sparse kernels for data batches', () => {
  it('a matmul told that A is data gives the same values as one that is not told (dense)', async () => {
    // Unrolled, the dense kernel sums the same products over the same k in the same order as the
    // sparse one, which only leaves out exact zeros: the results are equal, not just close.
    const be = new GpuBackend(ctx(), { sparseInputs: true, matmulVariant: 'unrolled' });
    const [rows, cols, hidden] = [100, 784, 50];
    const x = be.fromArray(sparseArray(rows * cols, 0.19, 5), [rows, cols]);
    const W = be.fromArray(randomArray(cols * hidden, 6), [cols, hidden]);
    const b = be.fromArray(randomArray(hidden, 7), [hidden]);
    const dout = be.fromArray(randomArray(rows * hidden, 8), [rows, hidden]);
    const a = be.fromArray(sparseArray(cols * hidden, 0.19, 9), [hidden, cols]);
    const products: [string, () => GpuTensor, (data: DataOperand) => GpuTensor][] = [
      ['x·W + b → relu', () => be.matmul(x, W, { bias: b, activation: 'relu' }), (data) => be.matmul(x, W, { bias: b, activation: 'relu', data })],
      ['xᵀ·dout', () => be.matmul(x, dout, { transA: true }), (data) => be.matmul(x, dout, { transA: true, data })],
      // A of another shape than the batch above: its lists are compressed anew.
      ['another A: a·W', () => be.matmul(a, W), (data) => be.matmul(a, W, { data })],
    ];
    // No image, the image the columns are (which orders xᵀ's panels), and one that does not fit (ignored).
    for (const data of [{}, { image: [28, 28] }, { image: [27, 28] }] as DataOperand[]) {
      for (const [name, dense, told] of products) {
        const plain = dense();
        be.flush();
        expect(ctx().lastTrace.map((d) => d.kernel).filter((k) => k.startsWith('sparse.')), `${name}: dense`).toEqual([]);
        const sparse = told(data);
        be.flush();
        expect(ctx().lastTrace.some((d) => d.kernel.startsWith('sparse.sparse_matmul')), `${name}: sparse`).toBe(true);
        expect(Array.from(await be.read(sparse)), `${name} ${JSON.stringify(data)}`).toEqual(Array.from(await be.read(plain)));
        be.dispose(plain, sparse);
      }
    }
    // B transposed has no sparse kernel: the dense one runs, data or not.
    const dx = be.matmul(dout, W, { transB: true, data: {} });
    be.flush();
    expect(ctx().lastTrace.map((d) => d.kernel.split('[')[0])).toEqual(['matmul.matmul_unrolled']);
    be.dispose(x, W, b, dout, a, dx);
  });

  it('new values written into a data tensor are seen: its compressed lists do not go stale', async () => {
    const be = new GpuBackend(ctx(), { sparseInputs: true, matmulVariant: 'unrolled' });
    const [rows, cols, hidden] = [20, 784, 10];
    const x = be.fromArray(sparseArray(rows * cols, 0.19, 11), [rows, cols]);
    const W = be.fromArray(randomArray(cols * hidden, 12), [cols, hidden]);
    const first = Array.from(await be.read(be.matmul(x, W, { data: {} })));
    const fresh = sparseArray(rows * cols, 0.3, 13);
    be.write(x, fresh);
    const second = be.matmul(x, W, { data: {} });
    const expected = be.matmul(be.fromArray(fresh, [rows, cols]), W);
    expect(Array.from(await be.read(second))).toEqual(Array.from(await be.read(expected)));
    expect(Array.from(await be.read(second))).not.toEqual(first);
    be.dispose(x, W, second, expected);
  });

  it('a training step on MNIST records them for the first layer and matches the dense step exactly', async () => {
    const mnist = await loadMnist();
    const split = sliceSplit(mnist.train, 0, 1000);
    const run = async (sparseInputs: boolean) => {
      const be = new GpuBackend(ctx(), { sparseInputs });
      const data = new GpuDataset(be, split);
      const net = new TwoLayerNet(be, 784, 50, 10);
      const sgd = new SGD(be, 0.1);
      const rng = new Rng(3);
      const losses: number[] = [];
      for (let step = 0; step < 6; step++) {
        const { x, t } = data.batch(sampleIndices(rng, data.count, 100));
        const loss = net.gradient(x, t, step);
        sgd.update(net.params());
        losses.push((await be.read(loss))[0]!);
        be.dispose(x, t);
      }
      const kernels = ctx().lastTrace.map((d) => d.kernel);
      net.dispose();
      data.dispose();
      return { losses, kernels };
    };
    const sparse = await run(true);
    const dense = await run(false);
    // The first layer's forward and weight gradient, and one compress shared by both.
    expect(sparse.kernels.filter((k) => k.startsWith('sparse.'))).toHaveLength(3);
    expect(dense.kernels.filter((k) => k.startsWith('sparse.'))).toHaveLength(0);
    expect(sparse.kernels.filter((k) => k.startsWith('matmul.'))).toHaveLength(dense.kernels.filter((k) => k.startsWith('matmul.')).length - 2);
    // Same sums over the same k in the same order, minus exact zeros: the same float32 losses.
    expect(sparse.losses).toEqual(dense.losses);
  });
});
