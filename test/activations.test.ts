import { beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { GpuBackend } from '../src/backend/gpu-backend.js';
import { grid1d } from '../src/kernels/grid.js';
import type { CpuTensor } from '../src/tensor/cpu-tensor.js';
import type { Shape } from '../src/tensor/shape.js';
import { EPS32, expectClose, randomArray } from './helpers/compare.js';
import { describeElementBlocks, useGpu } from './helpers/gpu.js';

const { ctx } = useGpu();
const cpu = new CpuBackend('f64');

beforeAll(() => {
  ctx().pool.poison = true;
});

/** Empty, a single value, a partial workgroup, exactly one, one past it, and a matrix. */
const SHAPES = ([[0], [1], [7], [255], [256], [257], [100, 50]] as Shape[]).map((shape) => ({ shape, name: shape.join('x') }));
const size = (shape: Shape) => shape.reduce((a, b) => a * b, 1);

/**
 * Random values in [-scale, scale] with exact zeros (and a -0) sprinkled in: ReLU's mask is
 * 1 only where x > 0, and only inputs that are exactly zero tell `>` from `>=`.
 */
function inputs(n: number, seed: number, scale = 4): Float32Array {
  const x = randomArray(n, seed, scale);
  for (let i = 0; i < n; i += 5) x[i] = 0;
  if (n > 3) x[3] = -0;
  return x;
}

function data(t: CpuTensor): Float64Array {
  return t.data as Float64Array;
}

/**
 * WGSL's exp is accurate to 3 + 2|x| ULP; y = 1/(1+e) or e/(1+e) carries that relative error
 * (times 1 - y <= 1) plus a few roundings (the add, the divide at 2.5 ULP). One ULP is at most
 * 2·EPS32 relative, so |Δy| <= ((3 + 2|x|)·2 + 8)·EPS32·y. The 1e-38 absorbs a flushed subnormal.
 */
function sigmoidTolerance(x: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: x.length }, (_, i) => ((3 + 2 * Math.abs(x[i]!)) * 2 + 8) * EPS32 * y[i]! + 1e-38);
}

describeElementBlocks(ctx, 'relu against the float64 CPU reference', (gpu) => {
  it.each(SHAPES)('forward y and mask, backward applies the mask: $name', async ({ shape }) => {
    const n = size(shape);
    const x = inputs(n, 11 + n);
    const dy = randomArray(n, 97 + n);
    const gx = gpu().fromArray(x, shape);
    const gdy = gpu().fromArray(dy, shape);
    const { y, mask } = gpu().reluForward(gx);
    const dx = gpu().reluBackward(gdy, mask);
    expect(y.shape).toEqual(shape);
    expect(mask.shape).toEqual(shape);
    expect(dx.shape).toEqual(shape);

    const ref = cpu.reluForward(cpu.fromArray(x, shape));
    const refDx = cpu.reluBackward(cpu.fromArray(dy, shape), ref.mask);
    // max(x, 0), a 0/1 mask and dy times 0 or 1 are exact in float32: no tolerance.
    expectClose(await gpu().read(y), data(ref.y), 0, `relu y ${shape}`);
    expectClose(await gpu().read(mask), data(ref.mask), 0, `relu mask ${shape}`);
    expectClose(await gpu().read(dx), data(refDx), 0, `relu dx ${shape}`);
    gpu().dispose(gx, gdy, y, mask, dx);
  });

  it('backward applies any saved mask elementwise, not a recomputed one', async () => {
    const dy = randomArray(257, 5);
    const maskValues = Float32Array.from({ length: 257 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const gdy = gpu().fromArray(dy, [257]);
    const gmask = gpu().fromArray(maskValues, [257]);
    const dx = gpu().reluBackward(gdy, gmask);
    expectClose(await gpu().read(dx), dy.map((v, i) => v * maskValues[i]!), 0, 'relu dx with a given mask');
    gpu().dispose(gdy, gmask, dx);
  });

});

// One element per invocation: with eight, folding would take eight times the memory, and the
// blocked entry points unfold the grid with the same expression.
describe('relu over a folded grid (1 element per invocation)', () => {
  let one: GpuBackend;
  beforeAll(() => {
    one = new GpuBackend(ctx(), { elementBlock: 1 });
  });

  // 65535 workgroups of 256 cover 16,776,960 elements; one more workgroup's worth folds the
  // grid into a second dimension. That is 67 MB per tensor and about 4 s on SwiftShader
  // (mostly poisoning and reading back), so only the forward runs at this size; the fold itself
  // is the same flatIndex() in every entry point of the file, and grid1d is tested below.
  it('forward over more than 65535 workgroups (grid folded into y)', async () => {
    const n = 65535 * 256 + 300;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = (i % 7) - 3;
    const gx = one.fromArray(x, [n]);
    const { y, mask } = one.reluForward(gx);
    const [outY, outMask] = [await one.read(y), await one.read(mask)];
    let bad = -1;
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      if (outY[i] !== Math.max(v, 0) || outMask[i] !== (v > 0 ? 1 : 0)) {
        bad = i;
        break;
      }
    }
    expect(bad, `first wrong element (of ${n}): y=${outY[bad]} mask=${outMask[bad]}`).toBe(-1);
    one.dispose(gx, y, mask);
  });
});

describe('grid1d', () => {
  it('covers n invocations, folding past 65535 workgroups into a second dimension', () => {
    expect(grid1d(0, 256)).toEqual([0, 0]);
    expect(grid1d(1, 256)).toEqual([1, 1]);
    expect(grid1d(257, 256)).toEqual([2, 1]);
    expect(grid1d(65535 * 256, 256)).toEqual([65535, 1]);
    expect(grid1d(65535 * 256 + 1, 256)).toEqual([65535, 2]);
    for (const n of [65535 * 64 + 1, 65535 * 256 * 3 + 17, 1e9]) {
      for (const wg of [64, 256]) {
        const [x, y] = grid1d(n, wg);
        expect(x).toBeLessThanOrEqual(65535);
        expect(y).toBeLessThanOrEqual(65535);
        // Enough invocations, and less than one extra row of workgroups.
        expect(x * y * wg).toBeGreaterThanOrEqual(n);
        expect((x * (y - 1)) * wg).toBeLessThan(n);
      }
    }
  });
});

describeElementBlocks(ctx, 'sigmoid against the float64 CPU reference', (gpu) => {
  it.each(SHAPES)('forward and backward (dy·y·(1-y) from the saved y): $name', async ({ shape }) => {
    const n = size(shape);
    // Scale 12 reaches the saturated tails, where 1 - y loses bits and the x < 0 branch matters.
    const x = randomArray(n, 3 + n, 12);
    const dy = randomArray(n, 41 + n);
    const gx = gpu().fromArray(x, shape);
    const gdy = gpu().fromArray(dy, shape);
    const y = gpu().sigmoidForward(gx);
    const dx = gpu().sigmoidBackward(gdy, y);
    expect(y.shape).toEqual(shape);
    expect(dx.shape).toEqual(shape);

    const refY = data(cpu.sigmoidForward(cpu.fromArray(x, shape)));
    const outY = await gpu().read(y);
    expectClose(outY, refY, sigmoidTolerance(x, refY), `sigmoid y ${shape}`);

    // Backward is checked against the reference applied to the y the GPU saved, so it sees only
    // its own rounding: 1 - y, two products (4 roundings, each <= EPS32 relative).
    const refDx = data(cpu.sigmoidBackward(cpu.fromArray(dy, shape), cpu.fromArray(outY, shape)));
    expectClose(await gpu().read(dx), refDx, refDx.map((v) => 4 * EPS32 * Math.abs(v) + 1e-38), `sigmoid dx ${shape}`);
    gpu().dispose(gx, gdy, y, dx);
  });

  it('stays finite at ±100 and beyond, where exp overflows float32', async () => {
    const x = [100, -100, 88.8, -88.8, 1000, -1000, 0];
    const gx = gpu().fromArray(x, [x.length]);
    const y = gpu().sigmoidForward(gx);
    const out = await gpu().read(y);
    for (const v of out) expect(Number.isFinite(v), `sigmoid gave ${v}`).toBe(true);
    // exp(-100) is ~4e-44: subnormal in float32, which an adapter may flush to 0.
    expectClose(out, data(cpu.sigmoidForward(cpu.fromArray(x, [x.length]))), 1e-38, 'sigmoid at the extremes');
    gpu().dispose(gx, y);
  });
});
