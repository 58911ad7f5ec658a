import { beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { poolGeometry, type PoolGeometry } from '../src/backend/geometry.js';
import type { PoolArgs } from '../src/backend/ops.js';
import { kernelName } from '../src/gpu/pipeline-cache.js';
import { POOL_NONE, POOLING_KERNELS, poolingEntries, poolingKernel, type PoolingEntry } from '../src/kernels/pooling.js';
import type { CpuTensor } from '../src/tensor/cpu-tensor.js';
import { EPS32, expectClose, randomArray } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';

const { ctx, gpu } = useGpu();
const cpu = new CpuBackend('f64');
const cpu32 = new CpuBackend('f32');

beforeAll(() => {
  ctx().pool.poison = true;
});

type Shape4 = [number, number, number, number];
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const NONE = POOL_NONE;

/** What one backend's forward and backward give: y, argmax and dx as plain arrays. */
interface Pooled {
  y: Float32Array | Float64Array;
  argmax: Uint32Array;
  dx: Float32Array | Float64Array;
}

function cpuPool(backend: CpuBackend, x: ArrayLike<number>, shape: Shape4, args: PoolArgs, dy: ArrayLike<number>): Pooled {
  const { y, argmax } = backend.maxPoolForward(backend.fromArray(x, shape), args);
  const dx = backend.maxPoolBackward(backend.fromArray(dy, y.shape), argmax, shape, args);
  const floats = (t: CpuTensor) => t.data as Float32Array | Float64Array;
  return { y: floats(y), argmax: argmax.data as Uint32Array, dx: floats(dx) };
}

/** The GPU's forward and backward, and the pooling kernels they dispatched. */
async function gpuPool(x: ArrayLike<number>, shape: Shape4, args: PoolArgs, dy: ArrayLike<number>): Promise<Pooled & { kernels: string[] }> {
  const g = gpu();
  const gx = g.fromArray(x, shape);
  const { y, argmax } = g.maxPoolForward(gx, args);
  const gdy = g.fromArray(dy, y.shape);
  const dx = g.maxPoolBackward(gdy, argmax, shape, args);
  const kernels: string[] = [];
  const read = async <T>(t: Parameters<typeof g.read>[0]) => {
    const out = (await g.read(t)) as T;
    kernels.push(...ctx().lastTrace.map((d) => d.kernel));
    return out;
  };
  const out = { y: await read<Float32Array>(y), argmax: await read<Uint32Array>(argmax), dx: await read<Float32Array>(dx), kernels };
  expect(argmax.dtype).toBe('u32');
  expect(out.argmax).toBeInstanceOf(Uint32Array);
  g.dispose(gx, y, argmax, gdy, dx);
  return out;
}

/** Values that tie often: multiples of 1/4 in [-2, 2], a fifth of them exactly zero (a tie with the padding). */
function tiedInputs(n: number, seed: number): Float32Array {
  return randomArray(n, seed, 2).map((v, i) => (i % 5 === 0 ? 0 : Math.round(v * 4) / 4));
}

/** Multiples of 1/8 in [-4, 4]: sums of a few of them are exact in float32, so dx compares exactly. */
function dyadic(n: number, seed: number): Float32Array {
  return randomArray(n, seed, 4).map((v) => Math.round(v * 8) / 8);
}

function expectSame(got: Pooled, want: Pooled, what: string): void {
  // Max and index selection involve no arithmetic, and dx adds dyadic values: exact.
  expectClose(got.y, want.y, 0, `${what} y`);
  expect(Array.from(got.argmax), `${what} argmax`).toEqual(Array.from(want.argmax));
  expectClose(got.dx, want.dx, 0, `${what} dx`);
}

function entriesOf(shape: Shape4, args: PoolArgs): PoolingEntry[] {
  const e = poolingEntries(poolGeometry(shape, args));
  return [e.forward, e.backward];
}

describe('max pooling by hand (the book\'s Pooling)', () => {
  // 1x1x4x4:
  //    1  2  5  0
  //    3  4  6  8
  //   -1  9  0  0
  //    7  2  0 -3
  const x = [1, 2, 5, 0, 3, 4, 6, 8, -1, 9, 0, 0, 7, 2, 0, -3];
  const shape: Shape4 = [1, 1, 4, 4];

  const cases: { name: string; args: PoolArgs; dy: number[]; y: number[]; argmax: number[]; dx: number[] }[] = [
    {
      // Windows [1 2 3 4] [5 0 6 8] [-1 9 7 2] [0 0 0 -3]: the last is a tie of zeros, won by the first.
      name: '2x2 stride 2',
      args: { poolH: 2, poolW: 2, stride: 2 },
      dy: [1, 2, 3, 4],
      y: [4, 8, 9, 0],
      argmax: [5, 7, 9, 10],
      dx: [0, 0, 0, 0, 0, 1, 0, 2, 0, 3, 4, 0, 0, 0, 0, 0],
    },
    {
      // Padded to 6x6; a window's positions in row-major order, padding as zeros:
      //   (0,0) [p p p 1] → 1 @0     (0,1) [p p 2 5] → 5 @2     (0,2) [p p 0 p] → 0, a pad first
      //   (1,0) [p 3 p -1] → 3 @4    (1,1) [4 6 9 0] → 9 @9     (1,2) [8 p 0 p] → 8 @7
      //   (2,0) [p 7 p p] → 7 @12    (2,1) [2 0 p p] → 2 @13    (2,2) [-3 p p p] → the pad's 0
      name: '2x2 stride 2 pad 1',
      args: { poolH: 2, poolW: 2, stride: 2, pad: 1 },
      dy: [1, 2, 3, 4, 5, 6, 7, 8, 9],
      y: [1, 5, 0, 3, 9, 8, 7, 2, 0],
      argmax: [0, 2, NONE, 4, 9, 7, 12, 13, NONE],
      dx: [1, 0, 2, 0, 4, 0, 0, 6, 0, 5, 0, 0, 7, 8, 0, 0],
    },
    {
      // Overlapping windows: the 9 at (2,1) is the max of all four windows of rows 1..3, columns 0..2.
      name: '3x3 stride 1',
      args: { poolH: 3, poolW: 3, stride: 1 },
      dy: [1, 2, 3, 4],
      y: [9, 9, 9, 9],
      argmax: [9, 9, 9, 9],
      dx: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1 + 2 + 3 + 4, 0, 0, 0, 0, 0, 0],
    },
  ];

  it.each(cases)('$name: forward, argmax and backward on the GPU and both CPU precisions', async (c) => {
    const want = { y: Float64Array.from(c.y), argmax: Uint32Array.from(c.argmax), dx: Float64Array.from(c.dx) };
    expectSame(cpuPool(cpu, x, shape, c.args, c.dy), want, `${c.name} CPU f64`);
    expectSame(cpuPool(cpu32, x, shape, c.args, c.dy), want, `${c.name} CPU f32`);
    expectSame(await gpuPool(x, shape, c.args, c.dy), want, `${c.name} GPU`);
  });
});

/**
 * GPU against the f64 CPU reference, and the f32 CPU against both, over windows 1x1 to 3x3
 * (2x3 too), strides 1 to 3, pad 0 and 1, channels 1, 3 and 7, images 1x1 to 28x28, batch 1 and
 * several. Inputs tie often and include zeros; dy is dyadic, so everything compares exactly.
 */
describe('max pooling against the CPU reference', () => {
  const WINDOWS: [number, number][] = [[1, 1], [2, 2], [3, 3], [2, 3]];
  const IMAGES: [number, number][] = [[1, 1], [2, 2], [3, 5], [4, 4], [5, 5], [7, 6], [11, 13], [28, 28]];

  function casesFor([poolH, poolW]: [number, number]): { shape: Shape4; args: PoolArgs }[] {
    const cases: { shape: Shape4; args: PoolArgs }[] = [];
    let k = 0;
    for (const [h, w] of IMAGES) {
      for (const stride of [1, 2, 3]) {
        for (const pad of [0, 1]) {
          if (h + 2 * pad < poolH || w + 2 * pad < poolW) continue;
          const channels = [1, 3, 7][k % 3]!;
          const batch = [1, 2, 5][(k >> 1) % 3]!;
          k++;
          cases.push({ shape: [batch, channels, h, w], args: { poolH, poolW, stride, pad } });
        }
      }
    }
    return cases;
  }

  it('the sweep reaches every pooling entry point', () => {
    const reached = new Set(WINDOWS.flatMap((win) => casesFor(win).flatMap((c) => entriesOf(c.shape, c.args))));
    expect([...reached].sort()).toEqual(POOLING_KERNELS.map((k) => k.entryPoint).sort());
  });

  it.each(WINDOWS)('%ix%i windows, every image, stride and pad', async (poolH, poolW) => {
    for (const [i, { shape, args }] of casesFor([poolH, poolW]).entries()) {
      const what = `x[${shape}] ${poolH}x${poolW} stride ${args.stride} pad ${args.pad}`;
      const g = poolGeometry(shape, args);
      const x = i % 2 ? tiedInputs(size(shape), 7 * i + poolH) : randomArray(size(shape), 7 * i + poolW);
      const dy = dyadic(g.batch * g.channels * g.outH * g.outW, 3 * i + 1);
      const ref = cpuPool(cpu, x, shape, args, dy);
      const got = await gpuPool(x, shape, args, dy);
      expectSame(got, ref, `GPU ${what}`);
      expectSame(cpuPool(cpu32, x, shape, args, dy), ref, `CPU f32 ${what}`);
      const entries = entriesOf(shape, args);
      expect(got.kernels, what).toEqual(entries.map((e) => kernelName(poolingKernel(e))));
    }
  });

  it.each([
    { name: 'SimpleConvNet', shape: [100, 30, 24, 24] as Shape4 },
    { name: 'DeepConvNet\'s third', shape: [100, 64, 8, 8] as Shape4 },
    { name: 'an odd image (general backward)', shape: [3, 5, 9, 7] as Shape4 },
  ])('$name: x $shape, 2x2 stride 2, random x and dy', async ({ shape }) => {
    const args = { poolH: 2, poolW: 2, stride: 2 };
    const g = poolGeometry(shape, args);
    const x = randomArray(size(shape), 30);
    const dy = randomArray(g.batch * g.channels * g.outH * g.outW, 31);
    const ref = cpuPool(cpu, x, shape, args, dy);
    // Windows do not overlap: each dx is one dy or zero, exact.
    expectSame(await gpuPool(x, shape, args, dy), ref, `x[${shape}]`);
    expectSame(cpuPool(cpu32, x, shape, args, dy), ref, `CPU f32 x[${shape}]`);
  });

  it('overlapping windows add up dy in the same order as the f32 CPU (3x3 stride 1, random dy)', async () => {
    const shape: Shape4 = [2, 3, 9, 8];
    const args = { poolH: 3, poolW: 3, stride: 1, pad: 1 };
    const g = poolGeometry(shape, args);
    // Few distinct values: many windows share a maximum, which then collects several dy.
    const x = tiedInputs(size(shape), 5).map((v) => Math.abs(v));
    const dy = randomArray(g.batch * g.channels * g.outH * g.outW, 6);
    const ref = cpuPool(cpu, x, shape, args, dy);
    const ref32 = cpuPool(cpu32, x, shape, args, dy);
    const got = await gpuPool(x, shape, args, dy);
    expectClose(got.y, ref.y, 0, 'y');
    expect(Array.from(got.argmax)).toEqual(Array.from(ref.argmax));
    // The f32 CPU adds each dx's terms in the GPU's order, rounding to float32 after each: the same bits.
    expectClose(got.dx, ref32.dx, 0, 'dx against the f32 CPU');
    // Against f64: at most 9 terms, each partial sum rounded once: 8·EPS32·Σ|dy| per element.
    const absDy = dy.map(Math.abs);
    const absSum = cpuPool(cpu, x, shape, args, absDy).dx;
    expectClose(got.dx, ref.dx, absSum.map((s) => 8 * EPS32 * s), 'dx against f64');
    // Some element did collect several gradients.
    const counts = new Map<number, number>();
    for (const a of ref.argmax) counts.set(a, (counts.get(a) ?? 0) + 1);
    expect(Math.max(...counts.values())).toBeGreaterThan(3);
  });
});

describe('max pooling rules', () => {
  const patterns: { name: string; shape: Shape4; args: PoolArgs }[] = [
    { name: '2x2 stride 2 (written-out kernels)', shape: [2, 3, 6, 8], args: { poolH: 2, poolW: 2, stride: 2 } },
    { name: '3x2 stride 1 (loops)', shape: [2, 3, 6, 8], args: { poolH: 3, poolW: 2, stride: 1 } },
  ];

  it.each(patterns)('ties: a constant image gives each window\'s first position, $name', async ({ shape, args }) => {
    const g = poolGeometry(shape, args);
    const x = new Float32Array(size(shape)).fill(0.5);
    const dy = dyadic(g.batch * g.channels * g.outH * g.outW, 2);
    const first: number[] = [];
    for (let plane = 0; plane < g.batch * g.channels; plane++) {
      for (let oh = 0; oh < g.outH; oh++) for (let ow = 0; ow < g.outW; ow++) first.push(plane * g.height * g.width + oh * g.stride * g.width + ow * g.stride);
    }
    for (const got of [await gpuPool(x, shape, args, dy), cpuPool(cpu, x, shape, args, dy), cpuPool(cpu32, x, shape, args, dy)]) {
      expect(Array.from(got.argmax)).toEqual(first);
      expect(Array.from(got.y).every((v) => v === 0.5)).toBe(true);
    }
  });

  it('negative inputs with padding: windows that reach the padding take its zero, which passes no gradient', async () => {
    const shape: Shape4 = [2, 3, 5, 5];
    for (const args of [{ poolH: 2, poolW: 2, stride: 2, pad: 1 }, { poolH: 3, poolW: 3, stride: 1, pad: 1 }]) {
      const g = poolGeometry(shape, args);
      const x = randomArray(size(shape), 9).map((v) => -1.5 - Math.abs(v));
      const dy = dyadic(g.batch * g.channels * g.outH * g.outW, 4).map((v) => v + 8);
      const ref = cpuPool(cpu, x, shape, args, dy);
      const got = await gpuPool(x, shape, args, dy);
      expectSame(got, ref, `pad 1, ${args.poolH}x${args.poolW} stride ${args.stride}`);
      for (let o = 0; o < got.y.length; o++) {
        const ow = o % g.outW;
        const oh = Math.floor(o / g.outW) % g.outH;
        const border = oh * g.stride - 1 < 0 || ow * g.stride - 1 < 0 || oh * g.stride - 1 + args.poolH > g.height || ow * g.stride - 1 + args.poolW > g.width;
        if (border) {
          expect([got.y[o], got.argmax[o]], `output ${o}`).toEqual([0, NONE]);
        } else {
          expect(got.y[o]!, `output ${o}`).toBeLessThan(0);
          expect(got.argmax[o]!, `output ${o}`).toBeLessThan(x.length);
        }
      }
      // The gradient of the padded maxima goes nowhere: dx sums only the other outputs' dy.
      const routed = dy.reduce((s, v, o) => (got.argmax[o] === NONE ? s : s + v), 0);
      expect(Array.from(got.dx).reduce((a, b) => a + b, 0)).toBeCloseTo(routed, 3);
    }
  });

  it('-Infinity, +Infinity and -0 are ordinary values; a padded zero beats -Infinity', async () => {
    //   -∞ -∞  1  ∞
    //   -∞ -∞ -0  2
    const shape: Shape4 = [1, 1, 2, 4];
    const x = [-Infinity, -Infinity, 1, Infinity, -Infinity, -Infinity, -0, 2];
    const plain = { poolH: 2, poolW: 2, stride: 2 };
    for (const got of [await gpuPool(x, shape, plain, [1, 2]), cpuPool(cpu, x, shape, plain, [1, 2])]) {
      expect(Array.from(got.y)).toEqual([-Infinity, Infinity]);
      expect(Array.from(got.argmax)).toEqual([0, 3]);
      expect(Array.from(got.dx)).toEqual([1, 0, 0, 2, 0, 0, 0, 0]);
    }
    // Padded: rows -1..0 and 1..2, columns -1..0, 1..2, 3..4 (p: a padded zero):
    //   [p p p -∞] → p    [p p -∞ 1] → 1 @2    [p p ∞ p] → ∞ @3
    //   [p -∞ p p] → p    [-∞ -0 p p] → -0 @6 (the first of the equal zeros)    [2 p p p] → 2 @7
    const padded = { poolH: 2, poolW: 2, stride: 2, pad: 1 };
    const dy = [1, 2, 3, 4, 5, 6];
    for (const got of [await gpuPool(x, shape, padded, dy), cpuPool(cpu, x, shape, padded, dy), cpuPool(cpu32, x, shape, padded, dy)]) {
      expect(Array.from(got.y)).toEqual([0, 1, Infinity, 0, -0, 2]);
      expect(Array.from(got.argmax)).toEqual([NONE, 2, 3, NONE, 6, 7]);
      expect(Array.from(got.dx)).toEqual([0, 0, 2, 3, 0, 0, 5, 6]);
    }
  });

  it.each(patterns)('NaN: the first NaN of a window wins (as numpy\'s max and argmax), $name', async ({ shape, args }) => {
    const g = poolGeometry(shape, args);
    const x = randomArray(size(shape), 12);
    // A NaN after a larger value, two NaNs in one window, and a NaN at a window's first position.
    const nans = [g.width + 1, 2 * g.width + 3, 2 * g.width + 4, 3 * g.width + 4, 4 * g.width, size(shape) - 1];
    x[g.width] = 5;
    for (const i of nans) x[i] = NaN;
    const dy = dyadic(g.batch * g.channels * g.outH * g.outW, 13);
    const ref = cpuPool(cpu, x, shape, args, dy);
    // The reference itself, from the rule: scan each window in order, first NaN wins.
    const expected: number[] = [];
    for (let plane = 0; plane < g.batch * g.channels; plane++) {
      for (let oh = 0; oh < g.outH; oh++) {
        for (let ow = 0; ow < g.outW; ow++) {
          let arg = -1;
          for (let kh = 0; kh < args.poolH && arg < 0; kh++) {
            for (let kw = 0; kw < args.poolW; kw++) {
              const i = plane * g.height * g.width + (oh * g.stride + kh) * g.width + ow * g.stride + kw;
              if (Number.isNaN(x[i])) {
                arg = i;
                break;
              }
            }
          }
          expected.push(arg);
        }
      }
    }
    const nanOutputs = expected.flatMap((a, o) => (a >= 0 ? [o] : []));
    expect(nanOutputs.length).toBeGreaterThan(2);
    for (const [name, got] of [['GPU', await gpuPool(x, shape, args, dy)], ['CPU f64', ref], ['CPU f32', cpuPool(cpu32, x, shape, args, dy)]] as const) {
      for (const o of nanOutputs) {
        expect(Number.isNaN(got.y[o]), `${name} y[${o}]`).toBe(true);
        expect(got.argmax[o], `${name} argmax[${o}]`).toBe(expected[o]);
      }
      // Elsewhere the same as the reference (NaN is not a number compareClose accepts).
      const clean = (a: ArrayLike<number>) => Array.from(a, (v) => (Number.isNaN(v) ? 'NaN' : v));
      expect(clean(got.y)).toEqual(clean(ref.y));
      expect(Array.from(got.argmax)).toEqual(Array.from(ref.argmax));
      expect(clean(got.dx)).toEqual(clean(ref.dx));
    }
  });

  it('grids past 65535 workgroups fold into a second dimension (1x1 windows: y = x, dx = dy)', async () => {
    // 2049² = 4,198,401 outputs and inputs, more than 65535 workgroups of 64.
    const shape: Shape4 = [1, 1, 2049, 2049];
    const n = size(shape);
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = (i % 251) - 125;
    const got = await gpuPool(x, shape, { poolH: 1, poolW: 1 }, x);
    let bad = -1;
    for (let i = 0; i < n; i++) {
      if (got.y[i] !== x[i] || got.argmax[i] !== i || got.dx[i] !== x[i]) {
        bad = i;
        break;
      }
    }
    expect(bad, `first wrong element (of ${n}): y=${got.y[bad]} argmax=${got.argmax[bad]} dx=${got.dx[bad]}`).toBe(-1);
  });
});

describe('poolingEntries', () => {
  const g = (shape: Shape4, args: PoolArgs): PoolGeometry => poolGeometry(shape, args);
  it('takes the written-out 2x2 kernels only where they apply', () => {
    expect(poolingEntries(g([100, 30, 24, 24], { poolH: 2, poolW: 2, stride: 2 }))).toEqual({ forward: 'max_pool_forward_2x2', backward: 'max_pool_backward_2x2' });
    // Odd image: the last row and column are in no window, which the 2x2 backward would not clear.
    expect(poolingEntries(g([1, 1, 5, 4], { poolH: 2, poolW: 2, stride: 2 }))).toEqual({ forward: 'max_pool_forward_2x2', backward: 'max_pool_backward' });
    expect(poolingEntries(g([1, 1, 4, 4], { poolH: 2, poolW: 2, stride: 1 }))).toEqual({ forward: 'max_pool_forward_2x2', backward: 'max_pool_backward' });
    expect(poolingEntries(g([1, 1, 4, 4], { poolH: 2, poolW: 2, stride: 2, pad: 1 }))).toEqual({ forward: 'max_pool_forward', backward: 'max_pool_backward' });
    expect(poolingEntries(g([1, 1, 6, 6], { poolH: 3, poolW: 3, stride: 3 }))).toEqual({ forward: 'max_pool_forward', backward: 'max_pool_backward' });
  });
});
