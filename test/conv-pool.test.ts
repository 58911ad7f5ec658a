import { beforeAll, describe, expect, it } from 'vitest';
import { convGeometry, convOutputShape, poolGeometry, type ConvGeometry, type PoolGeometry } from '../src/backend/geometry.js';
import type { PoolArgs } from '../src/backend/ops.js';
import { reluForwardCpu } from '../src/kernels/activations.js';
import { convBackwardFilterCpu, convForwardCpu, convRowSpansGpu } from '../src/kernels/conv.js';
import {
  convPoolBackwardFilterCpu,
  convPoolBackwardFilterGpu,
  convPoolForwardEntry,
  convPoolKernel,
  convPoolKernels,
  convPoolRowsPerChunk,
  convReluPoolForwardCpu,
  convReluPoolForwardGpu,
} from '../src/kernels/conv-pool.js';
import { maxPoolBackwardCpu, maxPoolForwardCpu, POOL_NONE } from '../src/kernels/pooling.js';
import { kernelName } from '../src/gpu/pipeline-cache.js';
import { loadMnist } from '../src/node/load-mnist.js';
import { GpuTensor } from '../src/tensor/gpu-tensor.js';
import { EPS32, expectClose, randomArray } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';

const { ctx, gpu } = useGpu();

beforeAll(() => {
  ctx().pool.poison = true;
});

type Shape4 = [number, number, number, number];
type Floats = Float32Array | Float64Array;
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const NONE = POOL_NONE;

interface Case {
  name: string;
  x: Shape4;
  w: Shape4;
  stride?: number;
  pad?: number;
  pool: PoolArgs;
}

/** Both geometries of a case: the convolution's, and the pooling's over its output. */
function geometries(c: Case): { cg: ConvGeometry; pg: PoolGeometry } {
  const cg = convGeometry(c.x, c.w, { stride: c.stride ?? 1, pad: c.pad ?? 0 });
  return { cg, pg: poolGeometry(convOutputShape(cg), c.pool) };
}

const pooledSize = (pg: PoolGeometry) => pg.batch * pg.channels * pg.outH * pg.outW;
const P2 = { poolH: 2, poolW: 2, stride: 2 };

/**
 * Channels 1/3/7/16, images 1x1 to 28x28, filters 1x1 to 5x5 (and non-square), conv stride 1
 * and 2, pad 0/1/2, filter counts around the block of 8; pooling 2x2 stride 2 (the written-out
 * entry point, odd pooled widths included), overlapping 3x3 stride 2, stride 1, padded windows,
 * 1x1 windows and floor-truncated sizes (odd conv outputs); batch 1 and several.
 */
const CASES: Case[] = [
  { name: 'one pixel, 1x1 filter, 1x1 pool', x: [1, 1, 1, 1], w: [1, 1, 1, 1], pool: { poolH: 1, poolW: 1 } },
  { name: 'one pixel, 3x3 filters pad 1, 1x1 pool', x: [2, 1, 1, 1], w: [3, 1, 3, 3], pad: 1, pool: { poolH: 1, poolW: 1 } },
  { name: '2x2 image, 2x2 pool over the whole output', x: [3, 2, 2, 2], w: [9, 2, 1, 1], pool: P2 },
  { name: '3 channels 5x7, 3x3 pad 1, 2x2 s2 (odd output: floor)', x: [2, 3, 5, 7], w: [5, 3, 3, 3], pad: 1, pool: P2 },
  { name: '7 channels 11x9, 3x5 filters stride 2 pad 1, 2x2 s2', x: [3, 7, 11, 9], w: [9, 7, 3, 5], stride: 2, pad: 1, pool: P2 },
  { name: '3 channels 13x13, 5x3 stride 2 pad 2, 3x3 s2 (overlapping)', x: [2, 3, 13, 13], w: [4, 3, 5, 3], stride: 2, pad: 2, pool: { poolH: 3, poolW: 3, stride: 2 } },
  { name: '1 channel 9x13, 3x3, 2x2 s1 (stride-1 pooling)', x: [2, 1, 9, 13], w: [17, 1, 3, 3], pool: { poolH: 2, poolW: 2, stride: 1 } },
  { name: '3 channels 8x8, 3x3 pad 1, 2x2 s2 pad 1 (padded windows)', x: [2, 3, 8, 8], w: [8, 3, 3, 3], pad: 1, pool: { poolH: 2, poolW: 2, stride: 2, pad: 1 } },
  { name: '1 channel 10x10, 5x5 pad 2, 3x3 s1 pad 1', x: [2, 1, 10, 10], w: [6, 1, 5, 5], pad: 2, pool: { poolH: 3, poolW: 3, stride: 1, pad: 1 } },
  { name: '7 channels 6x5, 1x1 filters pad 2 (a padding ring: y = relu(b)), 2x3 s2', x: [2, 7, 6, 5], w: [10, 7, 1, 1], pad: 2, pool: { poolH: 2, poolW: 3, stride: 2 } },
  { name: '16 channels 7x7, 3x3 pad 1, 2x2 s2 (floor: 3x3)', x: [3, 16, 7, 7], w: [16, 16, 3, 3], pad: 1, pool: P2 },
  { name: '16 channels 14x14, 3x3 pad 2 (16x16 output), 2x2 s2', x: [2, 16, 14, 14], w: [9, 16, 3, 3], pad: 2, pool: P2 },
  { name: '3 channels 28x28, 5x5 stride 2 (12x12), 5x5 windows s3', x: [1, 3, 28, 28], w: [3, 3, 5, 5], stride: 2, pool: { poolH: 5, poolW: 5, stride: 3 } },
  { name: 'SimpleConvNet, 2 images: 1x28x28, 30 filters 5x5, 2x2 s2', x: [2, 1, 28, 28], w: [30, 1, 5, 5], pool: P2 },
  { name: '1 channel 26x28, 3x3 (24x26), 2x2 s2: an odd number of pooled columns (13)', x: [2, 1, 26, 28], w: [7, 1, 3, 3], pool: P2 },
];

/** The unfused reference: convForward → relu → maxPoolForward, argmax NONE where y is 0 (ReLU's zero). */
function composed(cg: ConvGeometry, pg: PoolGeometry, x: Floats, w: Floats, b: Floats) {
  const conv = new Float64Array(size(convOutputShape(cg)));
  convForwardCpu(cg, x, w, b, conv);
  const relu = new Float64Array(conv.length);
  reluForwardCpu(conv, relu, new Float64Array(conv.length));
  const y = new Float64Array(pooledSize(pg));
  const argmax = new Uint32Array(y.length);
  maxPoolForwardCpu(pg, relu, y, argmax);
  return { conv, y, argmax: argmax.map((a, i) => (y[i] === 0 ? NONE : a)) };
}

/** The twin's forward, in float64. */
function fusedCpu(cg: ConvGeometry, pg: PoolGeometry, x: Floats, w: Floats, b: Floats) {
  const y = new Float64Array(pooledSize(pg));
  const argmax = new Uint32Array(y.length);
  convReluPoolForwardCpu(cg, pg, x, w, b, y, argmax);
  return { y, argmax };
}

/** The unfused filter gradient: maxPoolBackward (which routes nothing for NONE), then convBackwardFilter. */
function composedBackward(cg: ConvGeometry, pg: PoolGeometry, dy: Floats, argmax: Uint32Array, x: Floats) {
  const dConv = new Float64Array(size(convOutputShape(cg)));
  maxPoolBackwardCpu(pg, dy, argmax, dConv);
  const dw = new Float64Array(cg.filters * cg.channels * cg.kh * cg.kw);
  const db = new Float64Array(cg.filters);
  convBackwardFilterCpu(cg, dConv, x, dw, db);
  return { dw, db };
}

function fusedBackwardCpu(cg: ConvGeometry, pg: PoolGeometry, dy: Floats, argmax: Uint32Array, x: Floats) {
  const dw = new Float64Array(cg.filters * cg.channels * cg.kh * cg.kw);
  const db = new Float64Array(cg.filters);
  convPoolBackwardFilterCpu(cg, pg, dy, argmax, x, dw, db);
  return { dw, db };
}

/** Small integers (and dyadic dy): every sum is exact in float32, and ties and zeros are common. */
function integers(n: number, seed: number, range: number): Float32Array {
  return randomArray(n, seed).map((v) => Math.round(v * range));
}

/** The GPU forward and filter gradient of one case, read back, and the kernels they ran. */
async function runGpu(cg: ConvGeometry, pg: PoolGeometry, x: Float32Array, w: Float32Array, b: Float32Array, dy: Float32Array, spans = false, backward = true) {
  const c = ctx();
  const yShape: Shape4 = [pg.batch, pg.channels, pg.outH, pg.outW];
  const gx = GpuTensor.from(c, x, [cg.batch, cg.channels, cg.height, cg.width]);
  const gw = GpuTensor.from(c, w, [cg.filters, cg.channels, cg.kh, cg.kw]);
  const gb = GpuTensor.from(c, b, [cg.filters]);
  const gdy = GpuTensor.from(c, dy, yShape);
  const y = GpuTensor.empty(c, yShape);
  const argmax = GpuTensor.empty(c, yShape, 'u32');
  const dw = GpuTensor.empty(c, [cg.filters, cg.channels, cg.kh, cg.kw]);
  const db = GpuTensor.empty(c, [cg.filters]);
  c.submit();
  const rowSpans = spans ? convRowSpansGpu(c, cg, gx) : undefined;
  convReluPoolForwardGpu(c, cg, pg, gx, gw, gb, y, argmax, rowSpans);
  if (backward) convPoolBackwardFilterGpu(c, cg, pg, gdy, argmax, gx, dw, db);
  rowSpans?.dispose();
  const be = gpu();
  const y_ = (await be.read(y)) as Float32Array;
  const kernels = c.lastTrace.map((d) => d.kernel);
  const out = { y: y_, kernels, argmax: (await be.read(argmax)) as Uint32Array, dw: backward ? ((await be.read(dw)) as Float32Array) : new Float32Array(), db: backward ? ((await be.read(db)) as Float32Array) : new Float32Array() };
  be.dispose(gx, gw, gb, gdy, y, argmax, dw, db);
  return out;
}

/**
 * Float32 error bounds, as test/conv.test.ts works them out: a sum of n terms is off by at most
 * about n·eps·Σ|terms|. y: the conv sum of filter o, Σ|terms| <= max|x|·Σ|W[o]| + |b[o]|. dW[o]
 * adds dy[·,o] times values of x (db times 1) along a chain of a chunk's positions and then the
 * chunks.
 */
function tolerances(cg: ConvGeometry, pg: PoolGeometry, x: Float32Array, w: Float32Array, b: Float32Array, dy: Float32Array) {
  const K = cg.channels * cg.kh * cg.kw;
  const maxX = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const perFilterW = Float64Array.from({ length: cg.filters }, (_, o) => w.subarray(o * K, (o + 1) * K).reduce((s, v) => s + Math.abs(v), 0));
  const pooledPlane = pg.outH * pg.outW;
  const perFilterDy = new Float64Array(cg.filters);
  dy.forEach((v, i) => {
    perFilterDy[Math.floor(i / pooledPlane) % cg.filters]! += Math.abs(v);
  });
  const tol = (n: number, bound: number) => 2 * (n + 2) * EPS32 * bound + 1e-30;
  const rowsPerChunk = convPoolRowsPerChunk(pg);
  const chain = rowsPerChunk * pg.outW + Math.ceil((pg.batch * pg.outH) / rowsPerChunk);
  return {
    /** Per filter. */
    conv: Float64Array.from(perFilterW, (s, o) => tol(K + 1, maxX * s + Math.abs(b[o]!))),
    dw: Float64Array.from({ length: cg.filters * K }, (_, i) => tol(chain, maxX * perFilterDy[Math.floor(i / K)]!)),
    db: Float64Array.from(perFilterDy, (s) => tol(chain, s)),
  };
}

/**
 * The GPU's argmax against the float64 twin's: equal, or else a near tie: the conv value (float64)
 * at the GPU's pick is within the tolerance of the window's maximum (or of 0 where one of the
 * two says NONE).
 */
function expectArgmaxClose(got: Uint32Array, want: Uint32Array, wantY: Float64Array, conv: Float64Array, convTol: Float64Array, pg: PoolGeometry): void {
  const pooledPlane = pg.outH * pg.outW;
  for (let i = 0; i < want.length; i++) {
    if (got[i] === want[i]) continue;
    const o = Math.floor(i / pooledPlane) % pg.channels;
    const picked = got[i] === NONE ? 0 : conv[got[i]!]!;
    expect(Math.abs(picked - wantY[i]!), `argmax[${i}]: ${got[i]} (value ${picked}), expected ${want[i]} (value ${wantY[i]})`).toBeLessThanOrEqual(convTol[o]!);
  }
}

describe('the CPU twin against the unfused CPU references', () => {
  it.each(CASES)('$name', ({ ...c }) => {
    const { cg, pg } = geometries(c);
    const seed = size(c.x) + 7 * size(c.w);
    const [x, w, b] = [randomArray(size(c.x), seed), randomArray(size(c.w), seed + 1), randomArray(cg.filters, seed + 2, 0.3)];
    const want = composed(cg, pg, x, w, b);
    const got = fusedCpu(cg, pg, x, w, b);
    expect(Array.from(got.argmax)).toEqual(Array.from(want.argmax));
    expectClose(got.y, want.y, 0, 'y');
    // Some windows pass a gradient and some do not (unless there are few, or large ones).
    if (got.y.length > 20 && pg.poolH * pg.poolW <= 4) {
      expect(got.argmax.some((a) => a === NONE)).toBe(true);
      expect(got.argmax.some((a) => a !== NONE)).toBe(true);
    }
    const dy = randomArray(got.y.length, seed + 3);
    const ref = composedBackward(cg, pg, dy, got.argmax, x);
    const fused = fusedBackwardCpu(cg, pg, dy, got.argmax, x);
    expectClose(fused.dw, ref.dw, ref.dw.map((v) => 1e-12 * (1 + Math.abs(v))), 'dW');
    expectClose(fused.db, ref.db, ref.db.map((v) => 1e-12 * (1 + Math.abs(v))), 'db');
  });

  it('integer inputs: ties go to the first position, zeros to NONE; exactly the composition', () => {
    for (const c of CASES) {
      const { cg, pg } = geometries(c);
      const [x, w, b] = [integers(size(c.x), 3, 2), integers(size(c.w), 4, 1), integers(cg.filters, 5, 1)];
      const want = composed(cg, pg, x, w, b);
      const got = fusedCpu(cg, pg, x, w, b);
      expect(Array.from(got.argmax), c.name).toEqual(Array.from(want.argmax));
      expectClose(got.y, want.y, 0, `${c.name} y`);
      const dy = integers(got.y.length, 6, 8).map((v) => v / 4);
      const ref = composedBackward(cg, pg, dy, got.argmax, x);
      const fused = fusedBackwardCpu(cg, pg, dy, got.argmax, x);
      expectClose(fused.dw, ref.dw, 0, `${c.name} dW`);
      expectClose(fused.db, ref.db, 0, `${c.name} db`);
    }
  });

  it('a constant positive image: every window ties, the first position wins', () => {
    const { cg, pg } = geometries({ name: '', x: [2, 1, 6, 8], w: [2, 1, 3, 3], pool: P2 });
    const x = new Float64Array(size([2, 1, 6, 8])).fill(1);
    const w = new Float64Array(18).fill(0.5);
    const got = fusedCpu(cg, pg, x, w, new Float64Array([0, 1]));
    // Interior outputs all equal 4.5 (+ b): the window's top-left position, (2·ph, 2·pw).
    const first: number[] = [];
    for (let plane = 0; plane < 4; plane++) {
      for (let ph = 0; ph < pg.outH; ph++) for (let pw = 0; pw < pg.outW; pw++) first.push(plane * cg.outH * cg.outW + 2 * ph * cg.outW + 2 * pw);
    }
    expect(Array.from(got.argmax)).toEqual(first);
  });

  it("decodes argmax as (n, o, oh, ow): dW is the receptive field at that position", () => {
    // One image 5x7, one 2x2 filter, conv output 4x6, pooled 2x3: only pooled output (1, 2) passes
    // a gradient, through conv output (oh, ow) = (3, 4); swapping oh and ow would read elsewhere.
    const { cg, pg } = geometries({ name: '', x: [2, 1, 5, 7], w: [2, 1, 2, 2], pool: P2 });
    const x = Float64Array.from({ length: 70 }, (_, i) => i + 1);
    const argmax = new Uint32Array(pooledSize(pg)).fill(NONE);
    const dy = Float64Array.from({ length: argmax.length }, () => 100);
    // Image 1, filter 1, pooled (1, 2) → conv (3, 4).
    const out = ((1 * 2 + 1) * pg.outH + 1) * pg.outW + 2;
    argmax[out] = ((1 * 2 + 1) * cg.outH + 3) * cg.outW + 4;
    dy[out] = 2;
    const { dw, db } = fusedBackwardCpu(cg, pg, dy, argmax, x);
    // x[1, 0, 3..4, 4..5] = 35 + 3·7 + 4 + 1 ... (1-based values)
    const at = (h: number, w: number) => 35 + h * 7 + w + 1;
    expect(Array.from(dw)).toEqual([0, 0, 0, 0, 2 * at(3, 4), 2 * at(3, 5), 2 * at(4, 4), 2 * at(4, 5)]);
    expect(Array.from(db)).toEqual([0, 2]);
  });

  it('NaN: the first NaN of a window wins (y NaN, argmax its index), unlike ReLU then pooling', () => {
    const c: Case = { name: '', x: [2, 2, 8, 9], w: [3, 2, 2, 2], pool: { poolH: 3, poolW: 3, stride: 2, pad: 1 } };
    const { cg, pg } = geometries(c);
    const x = randomArray(size(c.x), 11);
    x[20] = NaN;
    x[size(c.x) - 5] = NaN;
    const [w, b] = [randomArray(size(c.w), 12), randomArray(3, 13)];
    const conv = new Float64Array(size(convOutputShape(cg)));
    convForwardCpu(cg, x, w, b, conv);
    const got = fusedCpu(cg, pg, x, w, b);
    let nans = 0;
    let o = 0;
    for (let plane = 0; plane < pg.batch * pg.channels; plane++) {
      for (let ph = 0; ph < pg.outH; ph++) {
        for (let pw = 0; pw < pg.outW; pw++, o++) {
          // The rule, from the conv output: the window's first NaN in row-major order.
          let first = -1;
          for (let a = 0; a < 3 && first < 0; a++) {
            for (let bb = 0; bb < 3; bb++) {
              const [oh, ow] = [ph * 2 - 1 + a, pw * 2 - 1 + bb];
              const i = (plane * cg.outH + oh) * cg.outW + ow;
              if (oh >= 0 && oh < cg.outH && ow >= 0 && ow < cg.outW && Number.isNaN(conv[i])) {
                first = i;
                break;
              }
            }
          }
          if (first < 0) {
            expect(Number.isNaN(got.y[o])).toBe(false);
            continue;
          }
          nans++;
          expect(Number.isNaN(got.y[o]), `y[${o}]`).toBe(true);
          expect(got.argmax[o], `argmax[${o}]`).toBe(first);
        }
      }
    }
    expect(nans).toBeGreaterThan(4);
  });

  it('refuses a pooling that is not over the convolution output', () => {
    const cg = convGeometry([1, 1, 6, 6], [2, 1, 3, 3]);
    const pg = poolGeometry([1, 2, 5, 4], P2);
    expect(() => convReluPoolForwardCpu(cg, pg, new Float64Array(36), new Float64Array(18), new Float64Array(2), new Float64Array(4), new Uint32Array(4))).toThrow(/not the convolution's output/);
  });
});

describe('the GPU kernels against the float64 CPU twin', () => {
  it.each(CASES)('$name', async (c) => {
    const { cg, pg } = geometries(c);
    const seed = 3 * size(c.x) + size(c.w);
    const [x, w, b, dy] = [randomArray(size(c.x), seed), randomArray(size(c.w), seed + 1), randomArray(cg.filters, seed + 2, 0.3), randomArray(pooledSize(pg), seed + 3)];
    const got = await runGpu(cg, pg, x, w, b, dy);
    expect(got.kernels).toContain(kernelName(convPoolKernel(convPoolForwardEntry(pg), { oneChannel: cg.channels === 1 })));
    const want = composed(cg, pg, x, w, b);
    const tol = tolerances(cg, pg, x, w, b, dy);
    const pooledPlane = pg.outH * pg.outW;
    expectClose(got.y, want.y, Float64Array.from(want.y, (_, i) => tol.conv[Math.floor(i / pooledPlane) % cg.filters]!), 'y');
    expectArgmaxClose(got.argmax, want.argmax, want.y, want.conv, tol.conv, pg);
    // The filter gradient through the GPU's own argmax.
    const ref = fusedBackwardCpu(cg, pg, dy, got.argmax, x);
    expectClose(got.dw, ref.dw, tol.dw, 'dW');
    expectClose(got.db, ref.db, tol.db, 'db');
  });

  it('integer inputs (exact in float32, many ties and zeros): the same bits as the twin', async () => {
    for (const c of CASES) {
      const { cg, pg } = geometries(c);
      const [x, w, b] = [integers(size(c.x), 21, 2), integers(size(c.w), 22, 1), integers(cg.filters, 23, 1)];
      const dy = integers(pooledSize(pg), 24, 8).map((v) => v / 4);
      const got = await runGpu(cg, pg, x, w, b, dy);
      const want = fusedCpu(cg, pg, x, w, b);
      expect(Array.from(got.argmax), c.name).toEqual(Array.from(want.argmax));
      expectClose(got.y, want.y, 0, `${c.name} y`);
      const ref = fusedBackwardCpu(cg, pg, dy, want.argmax, x);
      expectClose(got.dw, ref.dw, 0, `${c.name} dW`);
      expectClose(got.db, ref.db, 0, `${c.name} db`);
    }
  });

  it("SimpleConvNet's block exactly: 100 x 1x28x28, 30 filters 5x5, 2x2 stride 2", async () => {
    const c: Case = { name: '', x: [100, 1, 28, 28], w: [30, 1, 5, 5], pool: P2 };
    const { cg, pg } = geometries(c);
    const [x, w, b, dy] = [randomArray(size(c.x), 31).map(Math.abs), randomArray(size(c.w), 32, 0.2), randomArray(30, 33, 0.1), randomArray(pooledSize(pg), 34)];
    const got = await runGpu(cg, pg, x, w, b, dy);
    const want = composed(cg, pg, x, w, b);
    const tol = tolerances(cg, pg, x, w, b, dy);
    expectClose(got.y, want.y, Float64Array.from(want.y, (_, i) => tol.conv[Math.floor(i / 144) % 30]!), 'y');
    expectArgmaxClose(got.argmax, want.argmax, want.y, want.conv, tol.conv, pg);
    const ref = fusedBackwardCpu(cg, pg, dy, got.argmax, x);
    expectClose(got.dw, ref.dw, tol.dw, 'dW');
    expectClose(got.db, ref.db, tol.db, 'db');
  });

  it('NaN in x: the GPU takes the same first NaN as the twin', async () => {
    for (const c of [CASES[5]!, CASES[13]!]) {
      const { cg, pg } = geometries(c);
      const x = integers(size(c.x), 41, 2);
      for (const i of [3, 40, 41, size(c.x) - 1]) x[i] = NaN;
      const [w, b] = [integers(size(c.w), 42, 1), integers(cg.filters, 43, 1)];
      const dy = integers(pooledSize(pg), 44, 4);
      const got = await runGpu(cg, pg, x, w, b, dy);
      const want = fusedCpu(cg, pg, x, w, b);
      expect(want.y.some(Number.isNaN)).toBe(true);
      const clean = (a: ArrayLike<number>) => Array.from(a, (v) => (Number.isNaN(v) ? 'NaN' : v));
      expect(clean(got.y), c.name).toEqual(clean(want.y));
      expect(Array.from(got.argmax), c.name).toEqual(Array.from(want.argmax));
    }
  });

  it('all windows at or below zero: argmax all NONE, y, dW and db zero (written, not left poisoned)', async () => {
    for (const c of [CASES[3]!, CASES[8]!, CASES[13]!]) {
      const { cg, pg } = geometries(c);
      const x = randomArray(size(c.x), 51);
      const w = randomArray(size(c.w), 52, 0.1);
      // A bias far below anything the filters reach.
      const b = new Float32Array(cg.filters).fill(-1000);
      const got = await runGpu(cg, pg, x, w, b, randomArray(pooledSize(pg), 53));
      expect(got.argmax.every((a) => a === NONE), c.name).toBe(true);
      expectClose(got.y, new Float64Array(got.y.length), 0, 'y');
      expectClose(got.dw, new Float64Array(got.dw.length), 0, 'dW');
      expectClose(got.db, new Float64Array(got.db.length), 0, 'db');
    }
  });

  it('an empty batch writes zero filter gradients', async () => {
    const c = ctx();
    const cg = convGeometry([0, 2, 6, 6], [3, 2, 3, 3]);
    const pg = poolGeometry(convOutputShape(cg), P2);
    const [gx, gdy, argmax] = [GpuTensor.empty(c, [0, 2, 6, 6]), GpuTensor.empty(c, [0, 3, 2, 2]), GpuTensor.empty(c, [0, 3, 2, 2], 'u32')];
    const [dw, db] = [GpuTensor.empty(c, [3, 2, 3, 3]), GpuTensor.empty(c, [3])];
    convPoolBackwardFilterGpu(c, cg, pg, gdy, argmax, gx, dw, db);
    expectClose(await gpu().read(dw), new Float64Array(54), 0, 'dW');
    expectClose(await gpu().read(db), new Float64Array(3), 0, 'db');
    gpu().dispose(gx, gdy, argmax, dw, db);
  });

  it('grids past 65535 workgroups fold into a second dimension (1x1 conv and pool: y = relu(w·x + b))', async () => {
    const c: Case = { name: '', x: [1, 1, 2049, 2049], w: [1, 1, 1, 1], pool: { poolH: 1, poolW: 1 } };
    const { cg, pg } = geometries(c);
    const n = size(c.x);
    const x = Float32Array.from({ length: n }, (_, i) => (i % 251) - 125);
    // The forward only: the filter gradient's grid is small here.
    const got = await runGpu(cg, pg, x, Float32Array.of(2), Float32Array.of(1), new Float32Array(n), false, false);
    let bad = -1;
    for (let i = 0; i < n && bad < 0; i++) {
      const v = 2 * x[i]! + 1;
      if (got.y[i] !== Math.max(v, 0) || got.argmax[i] !== (v > 0 ? i : NONE)) bad = i;
    }
    expect(bad, `first wrong output (of ${n}): y=${got.y[bad]} argmax=${got.argmax[bad]}`).toBe(-1);
  });
});

describe('skipping the empty parts of a data batch (SKIP_ZEROS)', () => {
  /** The dense forward's and the skipping forward's y and argmax must be the same bits. */
  async function expectSkipSame(c: Case, x: Float32Array, seed: number) {
    const { cg, pg } = geometries(c);
    const [w, b] = [randomArray(size(c.w), seed, 0.3), randomArray(cg.filters, seed + 1, 0.1)];
    const dy = randomArray(pooledSize(pg), seed + 2);
    const dense = await runGpu(cg, pg, x, w, b, dy);
    const skipping = await runGpu(cg, pg, x, w, b, dy, true);
    expect(skipping.kernels.some((k) => k.includes('SKIP_ZEROS'))).toBe(true);
    expect(dense.kernels.some((k) => k.includes('SKIP_ZEROS'))).toBe(false);
    expectClose(skipping.y, dense.y, 0, `${c.name} y`);
    expect(Array.from(skipping.argmax), c.name).toEqual(Array.from(dense.argmax));
    return { cg, pg, x, w, b, dense };
  }

  it('a real MNIST batch, SimpleConvNet\'s block (100 x 1x28x28, 30 filters 5x5, 2x2 s2)', async () => {
    const mnist = await loadMnist();
    const n = 100;
    const x = Float32Array.from(mnist.train.pixels.subarray(0, n * 784), (v) => v / 255);
    expect(x.filter((v) => v === 0).length / x.length).toBeGreaterThan(0.7);
    const c: Case = { name: 'MNIST', x: [n, 1, 28, 28], w: [30, 1, 5, 5], pool: P2 };
    const { cg, pg, w, b, dense } = await expectSkipSame(c, x, 61);
    // And the dense kernel against the twin, on real data.
    const want = composed(cg, pg, x, w, b);
    const tol = tolerances(cg, pg, x, w, b, new Float32Array(1));
    expectArgmaxClose(dense.argmax, want.argmax, want.y, want.conv, tol.conv, pg);
  });

  /** Single pixels at every position (one image each), ink in bands, empty images; both forward entry points. */
  const sparse: { c: Case; ink: (n: number, ch: number, h: number, w: number) => boolean }[] = [
    { c: { name: 'a pixel at every position of 7x6, 3x3 pad 1, 2x2 s2', x: [42, 1, 7, 6], w: [9, 1, 3, 3], pad: 1, pool: P2 }, ink: (n, _c, h, w) => n === h * 6 + w },
    { c: { name: 'a pixel at every position of 7x6, 3x3 pad 2 stride 2, 2x2 s2', x: [42, 1, 7, 6], w: [9, 1, 3, 3], pad: 2, stride: 2, pool: P2 }, ink: (n, _c, h, w) => n === h * 6 + w },
    { c: { name: 'a pixel at every position of 6x5, 5x4 pad 2, 3x3 s2 pad 1', x: [30, 1, 6, 5], w: [3, 1, 5, 4], pad: 2, pool: { poolH: 3, poolW: 3, stride: 2, pad: 1 } }, ink: (n, _c, h, w) => n === h * 5 + w },
    { c: { name: 'bands of ink, empty images, 3 channels, 2x2 s1', x: [4, 3, 12, 11], w: [10, 3, 3, 3], pad: 1, pool: { poolH: 2, poolW: 2, stride: 1 } }, ink: (n, ch, h, w) => n % 2 === 1 && (h + ch) % 3 === 0 && (w * (ch + 1) + n) % 5 < 2 },
  ];
  it.each(sparse)('$c.name', async ({ c, ink }) => {
    const [C, H, W] = [c.x[1], c.x[2], c.x[3]];
    const x = randomArray(size(c.x), 71).map((v, k) => {
      const [n, ch, h, w] = [Math.floor(k / (C * H * W)), Math.floor(k / (H * W)) % C, Math.floor(k / W) % H, k % W];
      return ink(n, ch, h, w) ? v || 0.5 : 0;
    });
    await expectSkipSame(c, x, 72);
  });
});

describe('pipelines and scratch', () => {
  it('compiles every pipeline up front', async () => {
    const specs = convPoolKernels();
    const names = (list: typeof specs) => list.map(kernelName).sort();
    expect(names(specs)).toEqual([
      'conv-pool.conv_pool_filter_partial',
      'conv-pool.conv_relu_pool_forward',
      'conv-pool.conv_relu_pool_forward[ONE_CHANNEL=1]',
      'conv-pool.conv_relu_pool_forward_2x2',
      'conv-pool.conv_relu_pool_forward_2x2[ONE_CHANNEL=1]',
      // Pass 2 of the filter gradient is the unfused one's.
      'conv.conv_filter_sum',
    ]);
    await ctx().pipelines.prepare(specs);
    // With skipZeroRows, also the four forwards that skip zeros and the row spans they read.
    const skipping = convPoolKernels(true);
    expect(names(skipping.filter((s) => s.constants?.SKIP_ZEROS))).toEqual([
      'conv-pool.conv_relu_pool_forward[SKIP_ZEROS=1,ONE_CHANNEL=1]',
      'conv-pool.conv_relu_pool_forward[SKIP_ZEROS=1]',
      'conv-pool.conv_relu_pool_forward_2x2[SKIP_ZEROS=1,ONE_CHANNEL=1]',
      'conv-pool.conv_relu_pool_forward_2x2[SKIP_ZEROS=1]',
    ]);
    expect(skipping.map(kernelName)).toContain('conv.conv_row_spans');
    expect(skipping).toHaveLength(11);
    await ctx().pipelines.prepare(skipping);
  });

  it('the forwards without ONE_CHANNEL (channels innermost) give the same bits for one channel', async () => {
    const c = ctx();
    const record = c.dispatch.bind(c);
    for (const k of [0, 1, 6, 8, 13]) {
      const { cg, pg } = geometries(CASES[k]!);
      expect(cg.channels).toBe(1);
      const [x, w, b] = [randomArray(cg.batch * cg.height * cg.width, 91), randomArray(cg.filters * cg.kh * cg.kw, 92), randomArray(cg.filters, 93, 0.3)];
      const dy = new Float32Array(pooledSize(pg));
      const oneChannel = await runGpu(cg, pg, x, w, b, dy, false, false);
      c.dispatch = (d) => record({ ...d, kernel: { ...d.kernel, constants: undefined } });
      try {
        const general = await runGpu(cg, pg, x, w, b, dy, false, false);
        expect(general.kernels.some((name) => name.includes('ONE_CHANNEL'))).toBe(false);
        expectClose(general.y, oneChannel.y, 0, 'y');
        expect(Array.from(general.argmax)).toEqual(Array.from(oneChannel.argmax));
      } finally {
        c.dispatch = record;
      }
    }
  });

  it('picks the written-out 2x2 forward for 2x2 windows, stride 2, no padding', () => {
    const pg = (args: PoolArgs) => poolGeometry([1, 1, 8, 8], args);
    expect(convPoolForwardEntry(pg(P2))).toBe('conv_relu_pool_forward_2x2');
    expect(convPoolForwardEntry(pg({ ...P2, pad: 1 }))).toBe('conv_relu_pool_forward');
    expect(convPoolForwardEntry(pg({ ...P2, stride: 1 }))).toBe('conv_relu_pool_forward');
    expect(convPoolForwardEntry(pg({ poolH: 3, poolW: 3, stride: 2 }))).toBe('conv_relu_pool_forward');
  });

  it("gives the filter gradient's scratch back to the pool", async () => {
    const c = ctx();
    const cg = convGeometry([2, 3, 9, 9], [4, 3, 3, 3]);
    const pg = poolGeometry(convOutputShape(cg), P2);
    const gx = GpuTensor.from(c, randomArray(size([2, 3, 9, 9]), 81), [2, 3, 9, 9]);
    const gdy = GpuTensor.from(c, randomArray(pooledSize(pg), 82), [2, 4, 3, 3]);
    const argmax = GpuTensor.from(c, new Uint32Array(pooledSize(pg)).fill(NONE), [2, 4, 3, 3], 'u32');
    const [dw, db] = [GpuTensor.empty(c, [4, 3, 3, 3]), GpuTensor.empty(c, [4])];
    const before = c.pool.stats().buffersInUse;
    convPoolBackwardFilterGpu(c, cg, pg, gdy, argmax, gx, dw, db);
    expect(c.pool.stats().buffersInUse).toBe(before);
    await gpu().read(db);
    gpu().dispose(gx, gdy, argmax, dw, db);
  });
});
