import { beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { sumCpu } from '../src/kernels/reduce.js';
import type { CpuTensor } from '../src/tensor/cpu-tensor.js';
import { EPS32, expectClose, randomArray } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';

const { ctx, gpu } = useGpu();
const cpu = new CpuBackend('f64');

beforeAll(() => {
  ctx().pool.poison = true;
});

function data(t: CpuTensor): Float64Array {
  return t.data as Float64Array;
}

/**
 * sum_chunks adds 128 values serially per invocation and repeats over the partials, a tree of
 * ceil(log128 n) levels; serial float32 summation of m values errs by at most (m-1)·EPS32·Σ|v|,
 * so the whole tree by 128·levels·EPS32·Σ|x| (plus one rounding for the scale). The reference is
 * a float64 pairwise sum of the same float32 inputs, whose own error is negligible.
 */
function sumTolerance(x: Float32Array, scale = 1): number {
  const levels = Math.max(1, Math.ceil(Math.log(x.length) / Math.log(128)));
  let abs = 0;
  for (const v of x) abs += Math.abs(v);
  return (128 * levels + 2) * EPS32 * abs * Math.abs(scale);
}

describe('sum and mean against a float64 pairwise sum', () => {
  it('sums 10^6 random values', async () => {
    const n = 1_000_000;
    const x = randomArray(n, 2024);
    const gx = gpu().fromArray(x, [1000, 1000]);
    const s = gpu().sum(gx);
    const m = gpu().mean(gx);
    expect(s.shape).toEqual([]);
    const ref = sumCpu(x);
    expectClose(await gpu().read(s), [ref], sumTolerance(x), 'sum of 10^6');
    expectClose(await gpu().read(m), [ref / n], sumTolerance(x, 1 / n) + EPS32 * Math.abs(ref / n), 'mean of 10^6');
    gpu().dispose(gx, s, m);
  });

  it('sums 10^6 positive values (nothing can cancel a dropped chunk)', async () => {
    const n = 1_000_000 + 37;
    const x = randomArray(n, 77).map((v) => v + 1);
    const gx = gpu().fromArray(x, [n]);
    const s = gpu().sum(gx);
    expectClose(await gpu().read(s), [sumCpu(x)], sumTolerance(x), 'sum of positive values');
    gpu().dispose(gx, s);
  });

  // Around the chunk (128) and the second and third tree levels (16384, 2097152).
  it.each([1, 2, 100, 127, 128, 129, 16_383, 16_384, 16_385, 2_097_153])('sum and mean of %i values', async (n) => {
    const x = randomArray(n, n + 3, 10);
    const gx = gpu().fromArray(x, [n]);
    const s = gpu().sum(gx);
    const m = gpu().mean(gx);
    const ref = sumCpu(x);
    expectClose(await gpu().read(s), [ref], sumTolerance(x), `sum of ${n}`);
    expectClose(await gpu().read(m), data(cpu.mean(cpu.fromArray(x, [n]))), sumTolerance(x, 1 / n) + EPS32 * Math.abs(ref / n), `mean of ${n}`);
    gpu().dispose(gx, s, m);
  });

  it('sum of an empty tensor is 0', async () => {
    for (const shape of [[0], [0, 10], [10, 0]]) {
      const gx = gpu().fromArray([], shape);
      const s = gpu().sum(gx);
      expect(Array.from(await gpu().read(s)), `sum of ${JSON.stringify(shape)}`).toEqual([0]);
      expect(Array.from(data(cpu.sum(cpu.fromArray([], shape))))).toEqual([0]);
      gpu().dispose(gx, s);
    }
  });

  it('mean of an empty tensor is NaN on both backends', async () => {
    const gx = gpu().fromArray([], [0]);
    const m = gpu().mean(gx);
    expect(Number.isNaN((await gpu().read(m))[0])).toBe(true);
    expect(Number.isNaN(data(cpu.mean(cpu.fromArray([], [0])))[0])).toBe(true);
    gpu().dispose(gx, m);
  });
});

describe('column sums (the bias gradient) against the float64 reference', () => {
  it.each([[100, 50], [1000, 7], [1, 1], [7, 65], [0, 5]] as const)('%i x %i', async (rows, cols) => {
    const x = randomArray(rows * cols, rows * 3 + cols);
    const gx = gpu().fromArray(x, [rows, cols]);
    const out = gpu().sumColumns(gx);
    expect(out.shape).toEqual([cols]);
    const ref = data(cpu.sumColumns(cpu.fromArray(x, [rows, cols])));
    // One invocation per column adds its rows serially: (rows - 1)·EPS32·Σ|x| per column.
    const tol = new Float64Array(cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) tol[c]! += Math.abs(x[r * cols + c]!);
    expectClose(await gpu().read(out), ref, tol.map((a) => Math.max(rows - 1, 0) * EPS32 * a), `column sums ${rows}x${cols}`);
    gpu().dispose(gx, out);
  });
});

/** Rows with ties at the maximum: the first index wins on both backends. */
function scoresWithTies(rows: number, cols: number, seed: number): Float32Array {
  const x = randomArray(rows * cols, seed);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    if (r % 4 === 1) x.fill(0.5, base, base + cols); // all equal: index 0
    if (r % 4 === 2 && cols > 2) {
      x[base + 1] = 2; // two maxima: index 1
      x[base + cols - 1] = 2;
    }
    if (r % 4 === 3) x[base + cols - 1] = 3; // the last column
  }
  return x;
}

describe('argmax and countCorrect against the CPU reference', () => {
  it.each([[1, 1], [7, 10], [100, 10], [65, 1000], [130, 3], [0, 10]] as const)('argmax rows of %i x %i (ties: first index)', async (rows, cols) => {
    const x = scoresWithTies(rows, cols, rows + cols);
    const gx = gpu().fromArray(x, [rows, cols]);
    const out = gpu().argmax(gx);
    expect(out.shape).toEqual([rows]);
    expect(out.dtype).toBe('u32');
    const got = await gpu().read(out);
    expect(got).toBeInstanceOf(Uint32Array);
    const ref = cpu.argmax(cpu.fromArray(x, [rows, cols])).data;
    expect(Array.from(got)).toEqual(Array.from(ref));
    if (rows >= 4 && cols > 2) expect([got[1], got[2], got[3]]).toEqual([0, 1, cols - 1]);
    gpu().dispose(gx, out);
  });

  it.each([[1, 1], [7, 10], [100, 10], [65, 1000], [0, 10]] as const)('countCorrect of %i x %i with index and one-hot labels', async (rows, cols) => {
    const x = scoresWithTies(rows, cols, 5 * rows + cols);
    const argmax = cpu.argmax(cpu.fromArray(x, [rows, cols])).data;
    // About half the labels agree with the argmax, the rest are shifted by one class.
    const labels = Array.from({ length: rows }, (_, r) => (r % 2 === 0 || cols === 1 ? argmax[r]! : (argmax[r]! + 1) % cols));
    const hot = new Float32Array(rows * cols);
    labels.forEach((c, r) => (hot[r * cols + c] = 1));
    const expected = labels.filter((c, r) => c === argmax[r]).length;

    const gx = gpu().fromArray(x, [rows, cols]);
    const li = gpu().labels(labels, cols);
    const lh = gpu().fromArray(hot, [rows, cols]);
    const ci = gpu().countCorrect(gx, li);
    const ch = gpu().countCorrect(gx, lh);
    expect(ci.shape).toEqual([]);
    expect(Array.from(await gpu().read(ci))).toEqual([expected]);
    expect(Array.from(await gpu().read(ch))).toEqual([expected]);
    const sx = cpu.fromArray(x, [rows, cols]);
    expect(Array.from(data(cpu.countCorrect(sx, cpu.labels(labels, cols))))).toEqual([expected]);
    expect(Array.from(data(cpu.countCorrect(sx, cpu.fromArray(hot, [rows, cols]))))).toEqual([expected]);
    gpu().dispose(gx, li, lh, ci, ch);
  });
});
