import { beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import type { GpuTensor } from '../src/tensor/gpu-tensor.js';
import type { CpuTensor } from '../src/tensor/cpu-tensor.js';
import { EPS32, expectClose, randomArray } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';

const { ctx, gpu } = useGpu();
const cpu = new CpuBackend('f64');

beforeAll(() => {
  ctx().pool.poison = true;
});

/** One row, a partial workgroup of rows, more than one, MNIST-like, a wide row set, and no rows. */
const SHAPES = ([[1, 1], [7, 10], [100, 10], [65, 1000], [0, 10]] as [number, number][]).map(([rows, cols]) => ({ rows, cols }));

function data(t: CpuTensor): Float64Array {
  return t.data as Float64Array;
}

function randomLabels(rows: number, cols: number, seed: number): number[] {
  return Array.from(randomArray(rows, seed), (v) => Math.min(cols - 1, Math.floor(((v + 1) / 2) * cols)));
}

function oneHot(labels: number[], cols: number): Float32Array {
  const t = new Float32Array(labels.length * cols);
  labels.forEach((c, r) => (t[r * cols + c] = 1));
  return t;
}

/**
 * Logits of ±1000 (plus a little noise), which overflow exp in float32 unless the row max is
 * subtracted first. By row: all near +1000; all near -1000; +1000 and -1000 alternating (some
 * probabilities exactly 0); a single +1000 among zeros at the last, the first or the middle
 * column (a max that misses one column overflows there).
 */
function hugeLogits(rows: number, cols: number, seed: number): Float32Array {
  const x = randomArray(rows * cols, seed, 3);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const kind = r % 4;
    if (kind === 3) {
      x.fill(0, base, base + cols);
      x[base + [cols - 1, 0, cols >> 1][(r >> 2) % 3]!] = 1000;
      continue;
    }
    for (let c = 0; c < cols; c++) {
      const sign = kind === 0 ? 1 : kind === 1 ? -1 : (r + c) % 2 === 0 ? 1 : -1;
      x[base + c]! += sign * 1000;
    }
  }
  return x;
}

/**
 * Bound on each probability's error, from the float64 reference p and the logits x.
 * exp(d), d = x - rowmax <= 0, is accurate to 3 + 2|d| ULP (WGSL) and one ULP is <= 2·EPS32
 * relative; the row total carries the p-weighted mean of those errors plus cols·EPS32 of serial
 * float32 accumulation; the reciprocal and the product add two roundings. 1e-38 absorbs exp
 * results that an adapter flushes from subnormal to 0.
 */
function probTolerance(x: ArrayLike<number>, p: Float64Array, rows: number, cols: number): Float64Array {
  const tol = new Float64Array(p.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let mx = -Infinity;
    for (let c = 0; c < cols; c++) mx = Math.max(mx, x[base + c]!);
    const expRel = (c: number) => 2 * EPS32 * (3 + 2 * Math.abs(x[base + c]! - mx));
    let totalRel = cols * EPS32;
    for (let c = 0; c < cols; c++) totalRel += p[base + c]! * expRel(c);
    for (let c = 0; c < cols; c++) tol[base + c] = (expRel(c) + totalRel + 4 * EPS32) * p[base + c]! + 1e-38;
  }
  return tol;
}

/**
 * Bound on the batch-mean loss: per row, -log(p_t + 1e-7) moves by at most Δp/(p+1e-7), plus the
 * rounding of the add, plus WGSL's log (2^-21 absolute near 1, 3 ULP elsewhere); the mean is
 * sum_chunks' tree of serial 128-value sums (128·EPS32 relative per level) and the scale.
 */
function lossTolerance(p: Float64Array, pTol: Float64Array, labels: number[], cols: number, rowLoss: number[]): number {
  const rows = labels.length;
  if (rows === 0) return 0;
  let total = 0;
  let absTotal = 0;
  for (let r = 0; r < rows; r++) {
    const i = r * cols + labels[r]!;
    total += pTol[i]! / (p[i]! + 1e-7) + 2 ** -21 + 8 * EPS32 * Math.abs(rowLoss[r]!);
    absTotal += Math.abs(rowLoss[r]!);
  }
  const levels = Math.max(1, Math.ceil(Math.log(rows) / Math.log(128)));
  return (total + (128 * levels + 3) * EPS32 * absTotal) / rows;
}

/** Runs the fused forward and backward on both backends with the given label kind, and compares. */
async function checkXent(logits: Float32Array, rows: number, cols: number, labelIdx: number[], kind: 'index' | 'one-hot') {
  const what = `${rows}x${cols} ${kind}`;
  const g = gpu();
  const glogits = g.fromArray(logits, [rows, cols]);
  const glabels: GpuTensor = kind === 'index' ? g.labels(labelIdx, cols) : g.fromArray(oneHot(labelIdx, cols), [rows, cols]);
  const clabels: CpuTensor = kind === 'index' ? cpu.labels(labelIdx, cols) : cpu.fromArray(oneHot(labelIdx, cols), [rows, cols]);
  const { probs, loss } = g.softmaxCrossEntropy(glogits, glabels);
  const dx = g.softmaxCrossEntropyBackward(probs, glabels);
  expect(probs.shape).toEqual([rows, cols]);
  expect(loss.shape).toEqual([]);
  expect(dx.shape).toEqual([rows, cols]);

  const ref = cpu.softmaxCrossEntropy(cpu.fromArray(logits, [rows, cols]), clabels);
  const refP = data(ref.probs);
  const pTol = probTolerance(logits, refP, rows, cols);
  const outP = await g.read(probs);
  expectClose(outP, refP, pTol, `probs ${what}`);

  const rowLoss = labelIdx.map((c, r) => -Math.log(refP[r * cols + c]! + 1e-7));
  const outLoss = await g.read(loss);
  expect(outLoss.length).toBe(1);
  expectClose(outLoss, data(ref.loss), lossTolerance(refP, pTol, labelIdx, cols, rowLoss), `loss ${what}`);

  // Backward sees the GPU's own probabilities on both sides: (p - t) is exact or one rounding,
  // 1/batch is rounded to float32 and the product rounds once more.
  const refDx = data(cpu.softmaxCrossEntropyBackward(cpu.fromArray(outP, [rows, cols]), clabels));
  expectClose(await g.read(dx), refDx, refDx.map((v) => 3 * EPS32 * Math.abs(v) + 1e-38), `dx ${what}`);
  g.dispose(glogits, glabels, probs, loss, dx);
  return outP;
}

describe('row softmax against the float64 CPU reference', () => {
  it.each(SHAPES)('$rows x $cols: matches, rows sum to 1', async ({ rows, cols }) => {
    const x = randomArray(rows * cols, rows * 13 + cols, 5);
    const gx = gpu().fromArray(x, [rows, cols]);
    const y = gpu().softmax(gx);
    expect(y.shape).toEqual([rows, cols]);
    const out = await gpu().read(y);
    const ref = data(cpu.softmax(cpu.fromArray(x, [rows, cols])));
    const tol = probTolerance(x, ref, rows, cols);
    expectClose(out, ref, tol, `softmax ${rows}x${cols}`);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      let t = 0;
      for (let c = 0; c < cols; c++) {
        s += out[r * cols + c]!;
        t += tol[r * cols + c]!;
      }
      expect(Math.abs(s - 1), `row ${r} sums to ${s}`).toBeLessThanOrEqual(t);
    }
    gpu().dispose(gx, y);
  });

  it('logits around ±1000: no NaN or Inf, matches the reference', async () => {
    for (const [rows, cols] of [[12, 10], [12, 1000]] as const) {
      const x = hugeLogits(rows, cols, 7 + cols);
      const gx = gpu().fromArray(x, [rows, cols]);
      const y = gpu().softmax(gx);
      const out = await gpu().read(y);
      for (const v of out) expect(Number.isFinite(v), `softmax gave ${v}`).toBe(true);
      const ref = data(cpu.softmax(cpu.fromArray(x, [rows, cols])));
      expectClose(out, ref, probTolerance(x, ref, rows, cols), `softmax ±1000 ${rows}x${cols}`);
      gpu().dispose(gx, y);
    }
  });
});

describe('a row with a NaN or +Inf logit gets a NaN loss (a diverged net must not look finite)', () => {
  it('a -Inf logit is a probability of 0: a finite loss, the CPU device\'s', async () => {
    const x = randomArray(4 * 10, 3, 2);
    x[2 * 10 + 5] = -Infinity;
    const out = gpu().softmaxCrossEntropy(gpu().fromArray(x, [4, 10]), gpu().labels([1, 2, 3, 4], 10));
    const ref = cpu.softmaxCrossEntropy(cpu.fromArray(x, [4, 10]), cpu.labels([1, 2, 3, 4], 10));
    expect((await gpu().read(out.loss))[0]).toBeCloseTo((await cpu.read(ref.loss))[0]!, 5);
  });

  it.each([Number.NaN, Infinity])('logit %s: the batch-mean loss is NaN, on both devices', async (bad) => {
    const x = randomArray(4 * 10, 3, 2);
    const labels = [1, 2, 3, 4];
    const clean = gpu().softmaxCrossEntropy(gpu().fromArray(x, [4, 10]), gpu().labels(labels, 10));
    const cleanLoss = (await gpu().read(clean.loss))[0]!;
    x[2 * 10 + 5] = bad;
    const out = gpu().softmaxCrossEntropy(gpu().fromArray(x, [4, 10]), gpu().labels(labels, 10));
    expect((await gpu().read(out.loss))[0]).toBeNaN();
    expect(Number.isFinite(cleanLoss)).toBe(true);
    // The CPU device agrees: NaN, as the book's numpy code gives.
    const cpuOut = cpu.softmaxCrossEntropy(cpu.fromArray(x, [4, 10]), cpu.labels(labels, 10));
    expect((await cpu.read(cpuOut.loss))[0]).toBeNaN();
  });
});

describe('fused softmax + cross-entropy against the float64 CPU reference', () => {
  describe.each(['index', 'one-hot'] as const)('%s labels', (kind) => {
    it.each(SHAPES)('$rows x $cols: probs, batch-mean loss, backward (p - t)/batch', async ({ rows, cols }) => {
      await checkXent(randomArray(rows * cols, rows + 7 * cols, 5), rows, cols, randomLabels(rows, cols, rows + cols), kind);
    });

    it('logits around ±1000, including targets with probability 0 (loss -log 1e-7)', async () => {
      const rows = 12;
      const cols = 10;
      const labels = randomLabels(rows, cols, 99);
      const probs = await checkXent(hugeLogits(rows, cols, 5), rows, cols, labels, kind);
      for (const v of probs) expect(Number.isFinite(v)).toBe(true);
      // Some targets sit at -1000 next to +1000 neighbours, or at 0 next to a single +1000: p is 0.
      expect(labels.some((c, r) => probs[r * cols + c] === 0)).toBe(true);
    });
  });

  it('index and one-hot labels give the same result', async () => {
    const [rows, cols] = [33, 10];
    const x = randomArray(rows * cols, 1234, 4);
    const labels = randomLabels(rows, cols, 4321);
    const g = gpu();
    const gx = g.fromArray(x, [rows, cols]);
    const li = g.labels(labels, cols);
    const lh = g.fromArray(oneHot(labels, cols), [rows, cols]);
    const a = g.softmaxCrossEntropy(gx, li);
    const b = g.softmaxCrossEntropy(gx, lh);
    const da = g.softmaxCrossEntropyBackward(a.probs, li);
    const db = g.softmaxCrossEntropyBackward(b.probs, lh);
    // Same float32 operations on the target column (one-hot adds exact zeros): identical.
    expect(Array.from(await g.read(a.loss))).toEqual(Array.from(await g.read(b.loss)));
    expect(Array.from(await g.read(da))).toEqual(Array.from(await g.read(db)));
    g.dispose(gx, li, lh, a.probs, a.loss, b.probs, b.loss, da, db);
  });
});
