import { beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { BATCHNORM_DEFAULTS } from '../src/kernels/batchnorm.js';
import type { CpuTensor } from '../src/tensor/cpu-tensor.js';
import type { GpuTensor } from '../src/tensor/gpu-tensor.js';
import { EPS32, expectClose, randomArray } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';

const { ctx, gpu } = useGpu();
const cpu = new CpuBackend('f64');
const H = BATCHNORM_DEFAULTS;

beforeAll(() => {
  ctx().pool.poison = true;
});

function data(t: CpuTensor): Float64Array {
  return t.data as Float64Array;
}

/** Columns with different means and spreads, as a layer's pre-activations have. */
function columns(rows: number, cols: number, seed: number): Float32Array {
  const x = randomArray(rows * cols, seed, 1);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! * (1 + (i % cols) * 0.5) + (i % cols) - cols / 2;
  return x;
}

function inputs(rows: number, cols: number, seed: number) {
  return {
    x: columns(rows, cols, seed),
    gamma: Float32Array.from(randomArray(cols, seed + 1, 0.5), (v) => 1 + v),
    beta: randomArray(cols, seed + 2, 0.5),
    mean: randomArray(cols, seed + 3, 0.2),
    variance: Float32Array.from(randomArray(cols, seed + 4, 0.5), (v) => 1 + v),
    dy: randomArray(rows * cols, seed + 5),
  };
}

interface Uploaded<T> {
  x: T;
  gamma: T;
  beta: T;
  running: { mean: T; variance: T };
  dy: T;
}

function upload<T extends GpuTensor | CpuTensor>(be: { fromArray(d: ArrayLike<number>, s: number[]): T }, v: ReturnType<typeof inputs>, rows: number, cols: number): Uploaded<T> {
  return {
    x: be.fromArray(v.x, [rows, cols]),
    gamma: be.fromArray(v.gamma, [cols]),
    beta: be.fromArray(v.beta, [cols]),
    running: { mean: be.fromArray(v.mean, [cols]), variance: be.fromArray(v.variance, [cols]) },
    dy: be.fromArray(v.dy, [rows, cols]),
  };
}

// Shapes: one row (variance 0), a partial workgroup of columns, the book's hidden layer, and
// more columns than one workgroup of the per-column kernels (64).
const SHAPES: [number, number][] = [
  [1, 3],
  [7, 5],
  [100, 100],
  [2, 130],
];

describe('batch norm against the float64 CPU reference', () => {
  it.each(SHAPES)('train forward, running statistics and backward: %i x %i', async (rows, cols) => {
    const v = inputs(rows, cols, rows * 31 + cols);
    const g = upload<GpuTensor>(gpu(), v, rows, cols);
    const c = upload<CpuTensor>(cpu, v, rows, cols);
    const gf = gpu().batchNormTrain(g.x, g.gamma, g.beta, g.running, H);
    const cf = cpu.batchNormTrain(c.x, c.gamma, c.beta, c.running, H);
    // Error model: the f32 mean is off by ~rows·eps32·max|x| of the column, which the centring
    // turns into a relative error of that over σ. So every tolerance carries the column's
    // amplification A = max|x|/σ (large when a column's values sit far from 0 but close together,
    // e.g. two rows 0.05 apart around -23). Real bugs (a missing eps, an unbiased variance, the
    // momentum applied the wrong way, a dropped term in dx) move values by >= 1e-3 relative.
    const x64 = Float64Array.from(v.x);
    const invStd = data(cf.invStd);
    const k = (rows + 8) * EPS32 * 4;
    const colMax = (a: ArrayLike<number>, c: number) => Math.max(...Array.from({ length: rows }, (_, r) => Math.abs(a[r * cols + c]!)));
    const amp = Array.from({ length: cols }, (_, c) => colMax(x64, c) * invStd[c]!);
    const perElement = (f: (c: number) => number) => Float64Array.from({ length: rows * cols }, (_, i) => f(i % cols));
    const perColumn = (f: (c: number) => number) => Float64Array.from({ length: cols }, (_, c) => f(c));
    const xnTol = perElement((c) => k * amp[c]!);
    expectClose(await gpu().read(gf.xn), data(cf.xn), xnTol, 'xn');
    expectClose(await gpu().read(gf.y), data(cf.y), perElement((c) => Math.abs(v.gamma[c]!) * k * amp[c]! + k * 4), 'y');
    expectClose(await gpu().read(gf.invStd), invStd, perColumn((c) => invStd[c]! * k * amp[c]!), '1/std');
    expectClose(await gpu().read(g.running.mean), data(c.running.mean), perColumn((c) => k * colMax(x64, c)), 'running mean');
    const variance = perColumn((c) => 1 / invStd[c]! ** 2);
    expectClose(await gpu().read(g.running.variance), data(c.running.variance), perColumn((c) => k * (amp[c]! * variance[c]! + v.variance[c]!)), 'running variance');

    const gb = gpu().batchNormBackward(g.dy, gf.xn, gf.invStd, g.gamma);
    const cb = cpu.batchNormBackward(c.dy, cf.xn, cf.invStd, c.gamma);
    // Sums over the batch of O(1) terms (|dy| <= 1, |xn| <= √rows).
    expectClose(await gpu().read(gb.dbeta), data(cb.dbeta), k * rows, 'dbeta');
    expectClose(await gpu().read(gb.dgamma), data(cb.dgamma), perColumn((c) => k * rows * Math.sqrt(rows) * amp[c]!), 'dgamma');
    expectClose(await gpu().read(gb.dx), data(cb.dx), perElement((c) => Math.abs(v.gamma[c]!) * invStd[c]! * k * 4 * Math.sqrt(rows) * amp[c]!), 'dx');
  });

  it.each(SHAPES)('inference with the running statistics: %i x %i', async (rows, cols) => {
    const v = inputs(rows, cols, rows + cols);
    const g = upload<GpuTensor>(gpu(), v, rows, cols);
    const c = upload<CpuTensor>(cpu, v, rows, cols);
    const y = gpu().batchNormInference(g.x, g.gamma, g.beta, g.running, H);
    // A subtract, a sqrt, a divide, a multiply-add on values up to ~|x|·γ/σ ≈ 200: a few ULP of 200.
    expectClose(await gpu().read(y), data(cpu.batchNormInference(c.x, c.gamma, c.beta, c.running, H)), 16 * 200 * EPS32, 'y');
  });
});

describe('what batch norm guarantees', () => {
  it('in training each column of y has mean beta and standard deviation gamma (up to eps)', async () => {
    const rows = 50;
    const cols = 6;
    const v = inputs(rows, cols, 3);
    const c = upload<CpuTensor>(cpu, v, rows, cols);
    const y = data(cpu.batchNormTrain(c.x, c.gamma, c.beta, c.running, H).y);
    for (let j = 0; j < cols; j++) {
      const col = Array.from({ length: rows }, (_, r) => y[r * cols + j]!);
      const mean = col.reduce((s, a) => s + a, 0) / rows;
      const sd = Math.sqrt(col.reduce((s, a) => s + (a - mean) ** 2, 0) / rows);
      expect(mean).toBeCloseTo(v.beta[j]!, 10);
      expect(sd).toBeCloseTo(v.gamma[j]!, 5);
    }
  });

  it('moves the running statistics by the book\'s momentum, and inference then equals training on the same batch', async () => {
    const rows = 40;
    const cols = 4;
    const v = inputs(rows, cols, 8);
    const c = upload<CpuTensor>(cpu, v, rows, cols);
    c.running = { mean: cpu.zeros([cols]), variance: cpu.zeros([cols]) };
    cpu.batchNormTrain(c.x, c.gamma, c.beta, c.running, H);
    const x = v.x;
    for (let j = 0; j < cols; j++) {
      const col = Array.from({ length: rows }, (_, r) => x[r * cols + j]!);
      const mean = col.reduce((s, a) => s + a, 0) / rows;
      const variance = col.reduce((s, a) => s + (a - mean) ** 2, 0) / rows;
      expect(data(c.running.mean)[j]).toBeCloseTo(0.1 * mean, 12);
      expect(data(c.running.variance)[j]).toBeCloseTo(0.1 * variance, 12);
    }
    // With momentum 0 the running statistics become the batch's: inference reproduces training.
    const once = { momentum: 0, eps: H.eps };
    const train = cpu.batchNormTrain(c.x, c.gamma, c.beta, c.running, once);
    expectClose(data(cpu.batchNormInference(c.x, c.gamma, c.beta, c.running, once)), data(train.y), 1e-12, 'inference vs training');
  });

  it('backward: dx sums to zero over the batch and is orthogonal to xn, in every column', async () => {
    // y depends on x only through the normalized column, which is unchanged by shifting or
    // (with eps → 0) scaling x: the gradient has no component along either direction.
    const rows = 30;
    const cols = 5;
    const v = inputs(rows, cols, 4);
    const c = upload<CpuTensor>(cpu, v, rows, cols);
    const h = { momentum: 0.9, eps: 1e-14 };
    const f = cpu.batchNormTrain(c.x, c.gamma, c.beta, c.running, h);
    const dx = data(cpu.batchNormBackward(c.dy, f.xn, f.invStd, c.gamma).dx);
    const xn = data(f.xn);
    for (let j = 0; j < cols; j++) {
      let sum = 0;
      let dot = 0;
      for (let r = 0; r < rows; r++) {
        sum += dx[r * cols + j]!;
        dot += dx[r * cols + j]! * xn[r * cols + j]!;
      }
      expect(Math.abs(sum)).toBeLessThan(1e-10);
      expect(Math.abs(dot)).toBeLessThan(1e-10);
    }
  });

  it('refuses mismatched shapes, an empty training batch and bad hyperparameters on both devices', () => {
    for (const be of [gpu(), cpu] as const) {
      const x = be.zeros([4, 3]) as never;
      const v3 = be.zeros([3]) as never;
      const v2 = be.zeros([2]) as never;
      const running = { mean: v3, variance: v3 };
      expect(() => be.batchNormTrain(x, v2, v3, running, H)).toThrow(/batchNormTrain: gamma \[2\] does not fit x \[4, 3\]: expected \[3\]/);
      expect(() => be.batchNormInference(x, v3, v3, { mean: v3, variance: v2 }, H)).toThrow(/batchNormInference: running variance \[2\]/);
      expect(() => be.batchNormTrain(be.zeros([0, 3]) as never, v3, v3, running, H)).toThrow(/a batch of 0 rows has no mean or variance/);
      expect(() => be.batchNormTrain(x, v3, v3, running, { momentum: 1, eps: 1e-6 })).toThrow(/momentum must be in \[0, 1\)/);
      expect(() => be.batchNormTrain(x, v3, v3, running, { momentum: 0.9, eps: 0 })).toThrow(/eps must be a finite number > 0/);
      expect(() => be.batchNormBackward(x, be.zeros([4, 2]) as never, v3, v3)).toThrow(/batchNormBackward: dy \[4, 3\] and xn \[4, 2\]/);
    }
  });
});
