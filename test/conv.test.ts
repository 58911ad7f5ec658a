import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { convGeometry, type ConvGeometry } from '../src/backend/geometry.js';
import {
  col2imCpu,
  convBackwardDataCpu,
  convBackwardFilterCpu,
  convForwardCpu,
  convKernels,
  convRowsPerChunk,
  im2colCpu,
} from '../src/kernels/conv.js';
import { GpuBackend } from '../src/backend/gpu-backend.js';
import { EPS32, expectClose, randomArray } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';

const { ctx, gpu } = useGpu();

beforeAll(() => {
  ctx().pool.poison = true;
});

interface Case {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  stride: number;
  pad: number;
  /** Skip dx: a first layer's, which the nets never ask for (Convolution's `data` option). */
  noDataGradient?: boolean;
}

/**
 * Odd sizes against the blocks of shaders/conv.wgsl (8 filters or channels x 4 columns or taps):
 * channels 1/3/7/16, filters 1..32, images 1x1 to 28x28, 1x1, 3x3, 5x5 and non-square windows,
 * stride 1 and 2, pad 0/1/2 (up to outputs that read only padding), batch 1 and several; a filter
 * gradient of many chunks whose last is partial; and SimpleConvNet's first layer exactly.
 */
const CASES: Case[] = [
  { name: 'one pixel, one 1x1 filter', x: [1, 1, 1, 1], w: [1, 1, 1, 1], stride: 1, pad: 0 },
  { name: 'one pixel, 3x3 filters, pad 1 (only the centre tap inside)', x: [1, 1, 1, 1], w: [3, 1, 3, 3], stride: 1, pad: 1 },
  { name: '3 channels, 5x7, 3x3, pad 1', x: [2, 3, 5, 7], w: [5, 3, 3, 3], stride: 1, pad: 1 },
  { name: '7 channels, 11x9, 3x5 filters, stride 2, pad 1', x: [3, 7, 11, 9], w: [9, 7, 3, 5], stride: 2, pad: 1 },
  { name: '3 channels, 13x13, 5x3 filters, stride 2, pad 2', x: [3, 3, 13, 13], w: [4, 3, 5, 3], stride: 2, pad: 2 },
  { name: '3 channels, 8x8, 5x5 filters, stride 2, pad 2', x: [4, 3, 8, 8], w: [16, 3, 5, 5], stride: 2, pad: 2 },
  { name: '1x1 filters, stride 2 (pixels no output reads)', x: [2, 7, 6, 10], w: [1, 7, 1, 1], stride: 2, pad: 0 },
  { name: 'pad 2 around a 3x4 image with 3x3 filters', x: [2, 2, 3, 4], w: [3, 2, 3, 3], stride: 1, pad: 2 },
  { name: '1x1 filters, pad 2: a ring of outputs reads only padding (y = b)', x: [2, 3, 4, 5], w: [5, 3, 1, 1], stride: 1, pad: 2 },
  { name: 'many chunks, the last partial: 7 x 20 rows', x: [7, 2, 20, 20], w: [10, 2, 3, 3], stride: 1, pad: 1 },
  { name: "DeepConvNet's 3x3 pad 1 at 14x14, 16 → 32 channels", x: [3, 16, 14, 14], w: [32, 16, 3, 3], stride: 1, pad: 1 },
  { name: '28x28, 30 filters 5x5 (SimpleConvNet, 2 images)', x: [2, 1, 28, 28], w: [30, 1, 5, 5], stride: 1, pad: 0 },
  // Its input is the data batch, so SimpleConvNet never computes this layer's dx (the case above
  // covers that geometry's dx); a single channel would also leave 7 of the data kernel's 8-channel
  // block idle, which costs about a second on SwiftShader.
  { name: "SimpleConvNet's first layer exactly: 100 x 1x28x28, 30 filters 5x5", x: [100, 1, 28, 28], w: [30, 1, 5, 5], stride: 1, pad: 0, noDataGradient: true },
];

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const abs = (a: Float32Array) => a.map(Math.abs);

/**
 * A float32 sum of n products has rounding error at most about n·eps·Σ|terms| (each product
 * rounds once, each addition once); the tolerance is twice that, n being the longest chain of
 * additions the kernel makes for one output. Σ|terms| is bounded per filter or channel, which
 * costs no second convolution: every term of y[n,o,·,·] is a weight of filter o times a value of
 * x, so Σ|terms| <= max|x|·Σ|W[o]| + |b[o]|; dW[o,·] adds dy[·,o,·,·] times values of x (db
 * times 1): <= max|x|·Σ|dy[·,o]|; dx[·,c,·,·] adds weights W[·,c] times values of dy:
 * <= max|dy|·Σ|W[·,c]|.
 */
function tolerances(g: ConvGeometry, x: Float32Array, w: Float32Array, b: Float32Array, dy: Float32Array) {
  const { batch: N, channels: C, filters: O } = g;
  const kk = g.kh * g.kw;
  const plane = g.outH * g.outW;
  const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const [maxX, maxDy] = [maxAbs(x), maxAbs(dy)];
  const perFilterW = new Float64Array(O);
  const perChannelW = new Float64Array(C);
  w.forEach((v, i) => {
    perFilterW[Math.floor(i / (C * kk))]! += Math.abs(v);
    perChannelW[Math.floor(i / kk) % C]! += Math.abs(v);
  });
  const perFilterDy = new Float64Array(O);
  dy.forEach((v, i) => {
    perFilterDy[Math.floor(i / plane) % O]! += Math.abs(v);
  });
  const tol = (n: number, bound: number) => 2 * (n + 2) * EPS32 * bound + 1e-30;
  const rowsPerChunk = convRowsPerChunk(g);
  // The filter gradient adds a chunk's positions, then the chunks.
  const chain = rowsPerChunk * g.outW + Math.ceil((N * g.outH) / rowsPerChunk);
  return {
    y: Float64Array.from({ length: N * O * plane }, (_, i) => {
      const o = Math.floor(i / plane) % O;
      return tol(C * kk + 1, maxX * perFilterW[o]! + Math.abs(b[o]!));
    }),
    dw: Float64Array.from({ length: O * C * kk }, (_, i) => tol(chain, maxX * perFilterDy[Math.floor(i / (C * kk))]!)),
    db: Float64Array.from(perFilterDy, (v) => tol(chain, v)),
    dx: Float64Array.from({ length: N * C * g.height * g.width }, (_, i) => tol(O * kk, maxDy * perChannelW[Math.floor(i / (g.height * g.width)) % C]!)),
  };
}

describe('conv kernels against the float64 CPU reference', () => {
  it.each(CASES)('$name: forward, filter and data gradients', async ({ x: xShape, w: wShape, stride, pad, noDataGradient }) => {
    const g = convGeometry(xShape, wShape, { stride, pad });
    const yShape = [g.batch, g.filters, g.outH, g.outW];
    const seed = size(xShape) + size(wShape);
    const [x, w, b, dy] = [randomArray(size(xShape), seed), randomArray(size(wShape), seed + 1), randomArray(g.filters, seed + 2), randomArray(size(yShape), seed + 3)];
    const be = gpu();
    const [gx, gw, gb, gdy] = [be.fromArray(x, xShape), be.fromArray(w, wShape), be.fromArray(b, [g.filters]), be.fromArray(dy, yShape)];
    const y = be.convForward(gx, gw, gb, { stride, pad });
    const { dw, db } = be.convBackwardFilter(gdy, gx, gw, { stride, pad });
    const dx = noDataGradient ? undefined : be.convBackwardData(gdy, gw, xShape, { stride, pad });
    expect(y.shape).toEqual(yShape);
    expect(dw.shape).toEqual(wShape);
    expect(db.shape).toEqual([g.filters]);

    const ref = { y: new Float64Array(size(yShape)), dw: new Float64Array(size(wShape)), db: new Float64Array(g.filters), dx: new Float64Array(size(xShape)) };
    const tol = tolerances(g, x, w, b, dy);
    convForwardCpu(g, x, w, b, ref.y);
    convBackwardFilterCpu(g, dy, x, ref.dw, ref.db);
    expectClose(await be.read(y), ref.y, tol.y, 'y');
    expectClose(await be.read(dw), ref.dw, tol.dw, 'dW');
    expectClose(await be.read(db), ref.db, tol.db, 'db');
    if (dx) {
      expect(dx.shape).toEqual(xShape);
      convBackwardDataCpu(g, dy, w, ref.dx);
      expectClose(await be.read(dx), ref.dx, tol.dx, 'dx');
    }
    be.dispose(gx, gw, gb, gdy, y, dw, db, dx);
  });

  it('an empty batch has zero filter gradients (written, not left as they were)', async () => {
    const be = gpu();
    const [gx, gw, gdy] = [be.fromArray([], [0, 2, 5, 5]), be.fromArray(randomArray(54, 1), [3, 2, 3, 3]), be.fromArray([], [0, 3, 3, 3])];
    const { dw, db } = be.convBackwardFilter(gdy, gx, gw);
    expectClose(await be.read(dw), new Float64Array(54), 0, 'dW');
    expectClose(await be.read(db), new Float64Array(3), 0, 'db');
    be.dispose(gx, gw, gdy, dw, db);
  });

  it('compiles every pipeline up front', async () => {
    const specs = convKernels();
    // The forward twice: for several channels and for one (ONE_CHANNEL).
    expect(specs.map((s) => s.entryPoint).sort()).toEqual(['conv_backward_data', 'conv_filter_partial', 'conv_filter_sum', 'conv_forward', 'conv_forward']);
    await ctx().pipelines.prepare(specs);
    // With skipZeroRows, also the row spans and the SKIP_ZEROS forwards and filter gradient.
    const skipping = convKernels(true);
    expect(skipping).toHaveLength(9);
    await ctx().pipelines.prepare(skipping);
  });

  it("gives the filter gradient's scratch back to the pool", async () => {
    const be = gpu();
    const gx = be.fromArray(randomArray(2 * 3 * 9 * 9, 5), [2, 3, 9, 9]);
    const gw = be.fromArray(randomArray(4 * 3 * 3 * 3, 6), [4, 3, 3, 3]);
    const gdy = be.fromArray(randomArray(2 * 4 * 7 * 7, 7), [2, 4, 7, 7]);
    const before = ctx().pool.stats().buffersInUse;
    const { dw, db } = be.convBackwardFilter(gdy, gx, gw);
    expect(ctx().pool.stats().buffersInUse).toBe(before + 2);
    await be.read(db);
    be.dispose(gx, gw, gdy, dw, db);
  });
});

/** A sparse image batch: `ink(n, c, h, w)` says which pixels keep their random value. */
interface SparseCase {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  stride: number;
  pad: number;
  ink: (n: number, c: number, h: number, w: number) => boolean;
}

/**
 * Images with empty rows, empty images, single pixels everywhere (corners and edges included),
 * ink on the borders, several channels with different empty rows; pad 0/1/2, stride 1 and 2.
 * The single-pixel batches put one pixel at each position of the image in its own image, so a
 * span check off by one at any edge of any tap loses a whole term of some output.
 */
const SPARSE_CASES: SparseCase[] = [
  {
    name: 'MNIST-like: empty top and bottom rows, ink in a band of each row',
    x: [5, 1, 28, 28], w: [30, 1, 5, 5], stride: 1, pad: 0,
    ink: (n, _c, h, w) => h >= 4 + n && h < 22 && w >= 6 + ((h * 3 + n) % 7) && w < 14 + ((h + n) % 9),
  },
  {
    name: 'empty images between full ones, pad 2',
    x: [4, 1, 9, 10], w: [6, 1, 5, 5], stride: 1, pad: 2,
    ink: (n) => n % 2 === 1,
  },
  { name: 'all images empty (y = b, dW = 0)', x: [3, 1, 8, 8], w: [4, 1, 3, 3], stride: 1, pad: 1, ink: () => false },
  ...([[0, 1], [1, 1], [2, 1], [1, 2], [2, 2], [0, 2]] as const).map(([pad, stride]) => ({
    name: `a single pixel at every position of a 7x6 image, 3x3 filters, pad ${pad}, stride ${stride}`,
    x: [42, 1, 7, 6] as [number, number, number, number], w: [9, 1, 3, 3] as [number, number, number, number], stride, pad,
    ink: (n: number, _c: number, h: number, w: number) => n === h * 6 + w,
  })),
  {
    name: 'a single pixel at every position, 5x4 filters (wider than tall), stride 2, pad 2',
    x: [30, 1, 6, 5], w: [3, 1, 5, 4], stride: 2, pad: 2,
    ink: (n, _c, h, w) => n === h * 5 + w,
  },
  {
    name: 'ink only on the borders, 5x5 filters, pad 2',
    x: [3, 1, 11, 13], w: [8, 1, 5, 5], stride: 1, pad: 2,
    ink: (n, _c, h, w) => (n === 0 ? h === 0 || h === 10 : n === 1 ? w === 0 || w === 12 : (h === 0 || h === 10) && (w === 0 || w === 12)),
  },
  {
    name: '3 channels, each with its own empty rows and columns, stride 2, pad 1',
    x: [3, 3, 10, 11], w: [10, 3, 3, 3], stride: 2, pad: 1,
    ink: (n, c, h, w) => (h + n) % 3 === c && (w * (c + 1) + n) % 5 < 2,
  },
  {
    name: '2 channels, one pixel each at different places',
    x: [20, 2, 5, 4], w: [5, 2, 3, 2], stride: 1, pad: 1,
    ink: (n, c, h, w) => (c === 0 ? n === h * 4 + w : 19 - n === h * 4 + w),
  },
];

describe('conv kernels skipping the empty parts of a data batch (skipZeroRows)', () => {
  let sparse: GpuBackend | undefined;
  beforeAll(() => {
    sparse = new GpuBackend(ctx(), { sparseInputs: true });
  });

  it.each(SPARSE_CASES)('$name', async ({ x: xShape, w: wShape, stride, pad, ink }) => {
    const g = convGeometry(xShape, wShape, { stride, pad });
    const yShape = [g.batch, g.filters, g.outH, g.outW];
    const seed = 7 * size(xShape) + size(wShape);
    const x = randomArray(size(xShape), seed);
    const [C, H, W] = [g.channels, g.height, g.width];
    x.forEach((_, k) => {
      const [n, c, h, w] = [Math.floor(k / (C * H * W)), Math.floor(k / (H * W)) % C, Math.floor(k / W) % H, k % W];
      // A pixel with ink is never 0, so each is a term the kernels must not skip.
      if (!ink(n, c, h, w)) x[k] = 0;
      else if (x[k] === 0) x[k] = 0.5;
    });
    const [w, b, dy] = [randomArray(size(wShape), seed + 1), randomArray(g.filters, seed + 2), randomArray(size(yShape), seed + 3)];
    const be = sparse!;
    const [gx, gw, gb, gdy] = [be.fromArray(x, xShape), be.fromArray(w, wShape), be.fromArray(b, [g.filters]), be.fromArray(dy, yShape)];
    const args = { stride, pad, data: true };
    const ctx_ = ctx();
    const before = ctx_.pool.stats().buffersInUse;
    const y = be.convForward(gx, gw, gb, args);
    const { dw, db } = be.convBackwardFilter(gdy, gx, gw, args);
    // y, dW and db, and at most one more: the batch's row spans, which the backend keeps for the
    // batch's filter gradient in place of the previous batch's (the partial sums go back to the pool).
    expect(ctx_.pool.stats().buffersInUse - before).toBeGreaterThanOrEqual(3);
    expect(ctx_.pool.stats().buffersInUse - before).toBeLessThanOrEqual(4);
    const ref = { y: new Float64Array(size(yShape)), dw: new Float64Array(size(wShape)), db: new Float64Array(g.filters) };
    convForwardCpu(g, x, w, b, ref.y);
    convBackwardFilterCpu(g, dy, x, ref.dw, ref.db);
    const tol = tolerances(g, x, w, b, dy);
    expectClose(await be.read(y), ref.y, tol.y, 'y');
    expectClose(await be.read(dw), ref.dw, tol.dw, 'dW');
    expectClose(await be.read(db), ref.db, tol.db, 'db');
    be.dispose(gx, gw, gb, gdy, y, dw, db);
  });

  it('a write after the spanned batch is disposed leaves that batch alone', () => {
    const be = sparse!;
    const [gx, gw, gb] = [be.fromArray(randomArray(2 * 36, 6), [2, 1, 6, 6]), be.fromArray(randomArray(9, 7), [1, 1, 3, 3]), be.fromArray([0], [1])];
    const y = be.convForward(gx, gw, gb, { data: true });
    be.dispose(gx, y);
    const other = be.zeros([3]);
    expect(() => be.write(other, [1, 2, 3])).not.toThrow();
    be.dispose(gw, gb, other);
  });

  it('takes the skipping kernels only for a data batch', () => {
    const be = sparse!;
    const c = ctx();
    const [gx, gw, gb] = [be.fromArray(randomArray(2 * 36, 3), [2, 1, 6, 6]), be.fromArray(randomArray(9, 4), [1, 1, 3, 3]), be.fromArray([0], [1])];
    const kernels = (data: boolean) => {
      c.submit();
      const y = be.convForward(gx, gw, gb, { data });
      const gdy = be.fromArray(randomArray(32, 5), [2, 1, 4, 4]);
      const { dw, db } = be.convBackwardFilter(gdy, gx, gw, { data });
      c.submit();
      be.dispose(y, gdy, dw, db);
      return c.lastTrace.map((d) => d.kernel);
    };
    expect(kernels(false).some((k) => k.includes('conv_row_spans') || k.includes('SKIP_ZEROS'))).toBe(false);
    const skipping = kernels(true);
    // The row spans once per data batch, shared by the forward and the filter gradient.
    expect(skipping.filter((k) => k.includes('conv_row_spans'))).toHaveLength(1);
    expect(skipping.filter((k) => k.includes('SKIP_ZEROS'))).toHaveLength(2);
    be.dispose(gx, gw, gb);
  });
});

describe('CPU references', () => {
  // x = 1..9 as one 3x3 image.
  const x9 = Float64Array.from({ length: 9 }, (_, i) => i + 1);

  it('im2col: one row per output position, one column per tap (c, i, j)', () => {
    const g = convGeometry([1, 1, 3, 3], [1, 1, 2, 2]);
    const col = new Float64Array(16);
    im2colCpu(g, x9, col);
    expect([...col]).toEqual([
      1, 2, 4, 5,
      2, 3, 5, 6,
      4, 5, 7, 8,
      5, 6, 8, 9,
    ]);
  });

  it('im2col with stride 2 and pad 1 reads zeros in the padding', () => {
    const g = convGeometry([1, 1, 3, 3], [1, 1, 2, 2], { stride: 2, pad: 1 });
    expect([g.outH, g.outW]).toEqual([2, 2]);
    const col = new Float64Array(16);
    im2colCpu(g, x9, col);
    // Output (oh, ow) reads rows 2·oh - 1 + i and columns 2·ow - 1 + j.
    expect([...col]).toEqual([
      0, 0, 0, 1,
      0, 0, 2, 3,
      0, 4, 0, 7,
      5, 6, 8, 9,
    ]);
  });

  it('im2col of several channels and images: rows (n, oh, ow), columns (c, i, j)', () => {
    // Two images of two 2x2 channels, a 1x2 window: 2 positions per image, 4 taps.
    const x = Float64Array.from({ length: 16 }, (_, i) => i + 1);
    const g = convGeometry([2, 2, 2, 2], [1, 2, 1, 2]);
    const col = new Float64Array(4 * 4);
    im2colCpu(g, x, col);
    expect([...col]).toEqual([
      1, 2, 5, 6,
      3, 4, 7, 8,
      9, 10, 13, 14,
      11, 12, 15, 16,
    ]);
  });

  it('col2im adds each column entry back where im2col read it', () => {
    const g = convGeometry([1, 1, 3, 3], [1, 1, 2, 2]);
    const col = Float64Array.from({ length: 16 }, (_, i) => i + 1);
    const dx = new Float64Array(9).fill(NaN);
    col2imCpu(g, col, dx);
    // Pixel (h, w) gets entry k = (h - oh)·2 + (w - ow) of every row (oh, ow) that covers it.
    expect([...dx]).toEqual([1, 2 + 5, 6, 3 + 9, 4 + 7 + 10 + 13, 8 + 14, 11, 12 + 15, 16]);
    // The padding's share is dropped.
    const padded = convGeometry([1, 1, 3, 3], [1, 1, 2, 2], { stride: 2, pad: 1 });
    col2imCpu(padded, col, dx);
    // Here every pixel is read once: the inverse of the permutation im2col made above.
    expect([...dx]).toEqual([4, 7, 8, 10, 13, 14, 12, 15, 16]);
  });

  it('forward, filter and data gradients of a hand-computed example', () => {
    const g = convGeometry([1, 1, 3, 3], [1, 1, 2, 2]);
    const w = Float64Array.from([1, 2, 3, 4]);
    const y = new Float64Array(4).fill(NaN);
    convForwardCpu(g, x9, w, Float64Array.from([0.5]), y);
    // y(oh, ow) = 1·x(oh, ow) + 2·x(oh, ow+1) + 3·x(oh+1, ow) + 4·x(oh+1, ow+1) + 0.5
    expect([...y]).toEqual([37.5, 47.5, 67.5, 77.5]);

    const dy = Float64Array.from([1, -1, 2, 0.5]);
    const dw = new Float64Array(4).fill(NaN);
    const db = new Float64Array(1).fill(NaN);
    convBackwardFilterCpu(g, dy, x9, dw, db);
    // dW(i, j) = Σ dy(oh, ow)·x(oh + i, ow + j)
    expect([...dw]).toEqual([1 - 2 + 8 + 2.5, 2 - 3 + 10 + 3, 4 - 5 + 14 + 4, 5 - 6 + 16 + 4.5]);
    expect([...db]).toEqual([2.5]);

    const dx = new Float64Array(9).fill(NaN);
    convBackwardDataCpu(g, dy, w, dx);
    // dx(h, w) = Σ dy(oh, ow)·W(h - oh, w - ow)
    expect([...dx]).toEqual([1, 2 - 1, -2, 3 + 2, 4 - 3 + 4 + 0.5, -4 + 1, 6, 8 + 1.5, 2]);
  });

  it('float32 storage agrees with float64 to one rounding of each stored value', () => {
    const g = convGeometry([3, 4, 9, 7], [5, 4, 3, 3], { stride: 2, pad: 1 });
    const yn = g.batch * g.filters * g.outH * g.outW;
    const [x, w, b, dy] = [randomArray(3 * 4 * 63, 1), randomArray(5 * 36, 2), randomArray(5, 3), randomArray(yn, 4)];
    const run = (F: Float32ArrayConstructor | Float64ArrayConstructor) => {
      const out = { y: new F(yn), dw: new F(5 * 36), db: new F(5), dx: new F(3 * 4 * 63) };
      convForwardCpu(g, F.from(x), F.from(w), F.from(b), out.y);
      convBackwardFilterCpu(g, F.from(dy), F.from(x), out.dw, out.db);
      convBackwardDataCpu(g, F.from(dy), F.from(w), out.dx);
      return out;
    };
    const [f32, f64] = [run(Float32Array), run(Float64Array)];
    // Sums run in float64 either way: each output rounds once to float32; dx also rounds the
    // entries of dcol it adds up (at most 9 of them here).
    const mag = new Float64Array(3 * 4 * 63);
    convBackwardDataCpu(g, abs(dy), abs(w), mag);
    expectClose(f32.y, f64.y, f64.y.map((v) => EPS32 * Math.abs(v)), 'y');
    expectClose(f32.dw, f64.dw, f64.dw.map((v) => EPS32 * Math.abs(v)), 'dW');
    expectClose(f32.db, f64.db, f64.db.map((v) => EPS32 * Math.abs(v)), 'db');
    expectClose(f32.dx, f64.dx, mag.map((v) => 2 * EPS32 * v), 'dx');
  });

  it('the gradients are the adjoints of the forward: <conv(x), dy> = <x, dx> + <b, db> = <W, dW> + <b, db>', () => {
    const geometry = fc
      .record({
        n: fc.integer({ min: 1, max: 3 }),
        c: fc.integer({ min: 1, max: 4 }),
        h: fc.integer({ min: 1, max: 9 }),
        w: fc.integer({ min: 1, max: 9 }),
        o: fc.integer({ min: 1, max: 5 }),
        kh: fc.integer({ min: 1, max: 5 }),
        kw: fc.integer({ min: 1, max: 5 }),
        stride: fc.integer({ min: 1, max: 3 }),
        pad: fc.integer({ min: 0, max: 2 }),
        seed: fc.integer({ min: 1, max: 1e6 }),
      })
      .filter((a) => a.h + 2 * a.pad >= a.kh && a.w + 2 * a.pad >= a.kw);
    fc.assert(
      fc.property(geometry, ({ n, c, h, w: width, o, kh, kw, stride, pad, seed }) => {
        const g: ConvGeometry = convGeometry([n, c, h, width], [o, c, kh, kw], { stride, pad });
        const yn = n * o * g.outH * g.outW;
        const [x, w, b, dy] = [randomArray(n * c * h * width, seed), randomArray(o * c * kh * kw, seed + 1), randomArray(o, seed + 2), randomArray(yn, seed + 3)].map((a) => Float64Array.from(a));
        const y = new Float64Array(yn);
        const [dx, dw, db] = [new Float64Array(x!.length), new Float64Array(w!.length), new Float64Array(o)];
        convForwardCpu(g, x!, w!, b!, y);
        convBackwardDataCpu(g, dy!, w!, dx);
        convBackwardFilterCpu(g, dy!, x!, dw, db);
        const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);
        const lhs = dot(y, dy!);
        const viaX = dot(x!, dx) + dot(b!, db);
        const viaW = dot(w!, dw) + dot(b!, db);
        const scale = 1e-12 * (1 + yn * c * kh * kw);
        expect(Math.abs(lhs - viaX)).toBeLessThanOrEqual(scale);
        expect(Math.abs(lhs - viaW)).toBeLessThanOrEqual(scale);
      }),
      { numRuns: 200 },
    );
  });
});
