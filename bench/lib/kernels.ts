import { GpuTensor, Rng, type GpuBackend, type MatmulOptions } from 'webgpu-backprop';
import {
  argmaxCpu,
  columnSumCpu,
  countCorrectCpu,
  MATMUL_VARIANTS,
  matmulCpu,
  matmulDims,
  matmulGpu,
  sumCpu,
  xentBackwardCpu,
  xentCpu,
  type MatmulVariant,
} from 'webgpu-backprop/kernels';
import { timeGpu, tooSlow } from './gpu-timing.js';
import type { Plan } from './plan.js';
import { sig, type Summary } from './stats.js';

export interface KernelCheck {
  /** max |gpu - cpu| over what was compared. */
  maxAbsErr: number;
  tolerance: number;
  /** What was compared: 'all', or which rows of a large product. */
  compared: string;
  ok: boolean;
}

export interface KernelResult {
  family: 'matmul' | 'softmax-xent' | 'reduce';
  op: string;
  variant?: string;
  shape: string;
  check: KernelCheck;
  ms?: Summary;
  /** Per call, from the median. */
  gflops?: number;
  gbps?: number;
  /** Calls recorded into each timed submit. */
  callsPerSample?: number;
  skipped?: string;
}

type Progress = (line: string) => void;

/** Entries uniform in [-1, 1): the inputs of every matmul measurement. */
export function uniform(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 2 * rng.next() - 1;
  return out;
}

function compare(gpu: ArrayLike<number>, cpu: ArrayLike<number>, tolerance: number, compared = 'all', index = (i: number) => i): KernelCheck {
  let maxAbsErr = 0;
  for (let i = 0; i < cpu.length; i++) {
    const d = Math.abs(gpu[index(i)]! - cpu[i]!);
    maxAbsErr = Number.isNaN(d) ? Infinity : Math.max(maxAbsErr, d);
  }
  return { maxAbsErr: sig(maxAbsErr, 3), tolerance, compared, ok: maxAbsErr <= tolerance };
}

interface MatmulShape {
  label: string;
  a: [number, number];
  b: [number, number];
  opts: MatmulOptions;
  bias: boolean;
}

/** The five products of one training step of 784-50-10 at batch 100, as the layers issue them. */
export function netMatmuls(batch: number, hidden: number): MatmulShape[] {
  return [
    { label: 'fwd1 x·W1+b1', a: [batch, 784], b: [784, hidden], opts: {}, bias: true },
    { label: 'fwd2 h·W2+b2', a: [batch, hidden], b: [hidden, 10], opts: {}, bias: true },
    { label: 'dW2 hᵀ·dy', a: [batch, hidden], b: [batch, 10], opts: { transA: true }, bias: false },
    { label: 'dh dy·W2ᵀ', a: [batch, 10], b: [hidden, 10], opts: { transB: true }, bias: false },
    { label: 'dW1 xᵀ·dh', a: [batch, 784], b: [batch, hidden], opts: { transA: true }, bias: false },
  ];
}

/**
 * The long-K products of the book's convnets (src/nn/conv-nets.ts), at batch 100: SimpleConvNet's
 * Affine1 (30 filters x 12x12 pooled = 4320 inputs, 100 hidden; its W2, b2), forward and
 * backward, and DeepConvNet's Affine1 forward (64 x 4x4 = 1024 inputs, 50 hidden; W7, b7). A
 * small output over a long K leaves `tiled` 2 to 4 workgroups: what `splitk` is for. The
 * backward's dW and dx have K = batch instead, and an output 4320 long.
 */
export function convnetMatmuls(batch: number): MatmulShape[] {
  return [
    { label: 'SimpleConvNet fwd x·W2+b2', a: [batch, 4320], b: [4320, 100], opts: {}, bias: true },
    { label: 'SimpleConvNet dW2 xᵀ·dy', a: [batch, 4320], b: [batch, 100], opts: { transA: true }, bias: false },
    { label: 'SimpleConvNet dx dy·W2ᵀ', a: [batch, 100], b: [4320, 100], opts: { transB: true }, bias: false },
    { label: 'DeepConvNet fwd x·W7+b7', a: [batch, 1024], b: [1024, 50], opts: {}, bias: true },
  ];
}

function cube(n: number): MatmulShape {
  return { label: `${n}³`, a: [n, n], b: [n, n], opts: {}, bias: false };
}

/**
 * Checks one product against the float64 CPU reference (every entry, or a few whole rows of a
 * large product, where the full reference would take minutes), then times it.
 */
async function matmulCase(gpu: GpuBackend, s: MatmulShape, variant: MatmulVariant, plan: Plan, budgetMs: number, predictedMs?: number): Promise<KernelResult> {
  const ctx = gpu.ctx;
  const d = matmulDims(s.a, s.b, s.opts);
  const shape = `A[${s.a}]${s.opts.transA ? 'ᵀ' : ''}·B[${s.b}]${s.opts.transB ? 'ᵀ' : ''}${s.bias ? '+bias' : ''} → [${d.M},${d.N}]`;
  // Decided before the check, which runs the product too.
  const early = predictedMs !== undefined && tooSlow(predictedMs, plan.reps, budgetMs);
  if (early) return { family: 'matmul', op: s.label, variant, shape, check: { maxAbsErr: NaN, tolerance: NaN, compared: 'none', ok: true }, skipped: early };
  const rng = new Rng(plan.seed);
  const A = uniform(rng, s.a[0] * s.a[1]);
  const B = uniform(rng, s.b[0] * s.b[1]);
  const bias = s.bias ? uniform(rng, d.N) : undefined;
  const a = GpuTensor.from(ctx, A, s.a);
  const b = GpuTensor.from(ctx, B, s.b);
  const gb = bias && GpuTensor.from(ctx, bias, [d.N]);
  const c = GpuTensor.empty(ctx, [d.M, d.N]);
  const flops = 2 * d.M * d.N * d.K;
  try {
    const record = () => matmulGpu(ctx, a, b, gb, c, s.opts, variant);
    record();
    const C = await c.read();
    // Error of an f32 dot product grows with its length; 1e-5·K is what the kernel tests allow.
    const tolerance = 1e-5 * d.K;
    let check: KernelCheck;
    if (flops <= 2 ** 28) {
      const ref = new Float64Array(d.M * d.N);
      matmulCpu(Float64Array.from(A), Float64Array.from(B), bias && Float64Array.from(bias), ref, d, s.opts);
      check = compare(C, ref, tolerance);
    } else {
      // Cubes only (no transposes, no bias): rows i of A·B in full.
      const rows = [0, 1, d.M >> 1, d.M - 1];
      const ref = new Float64Array(rows.length * d.N);
      rows.forEach((i, r) => {
        for (let k = 0; k < d.K; k++) {
          const aik = A[i * d.K + k]!;
          for (let j = 0; j < d.N; j++) ref[r * d.N + j]! += aik * B[k * d.N + j]!;
        }
      });
      check = compare(C, ref, tolerance, `rows ${rows.join(', ')}`, (x) => rows[Math.floor(x / d.N)]! * d.N + (x % d.N));
    }
    const base: KernelResult = { family: 'matmul', op: s.label, variant, shape, check };
    if (!check.ok) return { ...base, skipped: 'wrong result: not timed' };
    const timed = await timeGpu(ctx, record, { reps: plan.reps, budgetMs, predictedMs });
    if ('skipped' in timed) return { ...base, skipped: timed.skipped };
    return { ...base, ms: timed.ms, callsPerSample: timed.perSample, gflops: sig(flops / timed.ms.median / 1e6, 3) };
  } finally {
    gpu.dispose(a, b, gb, c);
  }
}

export async function matmulBench(gpu: GpuBackend, plan: Plan, progress: Progress): Promise<KernelResult[]> {
  const results: KernelResult[] = [];
  const chosen = gpu.kernels.matmulVariant;
  // The adapter's default variant first: it is the one training uses.
  const variants = plan.allVariants ? [chosen, ...MATMUL_VARIANTS.filter((v) => v !== chosen)] : [chosen];
  for (const variant of variants) {
    const budget = variant === chosen ? plan.kernelBudgetMs : plan.variantBudgetMs;
    const net: KernelResult[] = [];
    for (const s of netMatmuls(plan.batch, plan.hidden)) net.push(await matmulCase(gpu, s, variant, plan, budget));
    results.push(...net);
    // The convnets' products are up to 11x the net's x·W1 (the first, 784 deep): predicted from its
    // rate, then from the previous one's, so that a variant that is slow on this adapter is
    // skipped before its check runs.
    let longRate = net[0]?.gflops;
    const longBudget = variant === chosen ? plan.kernelBudgetMs : plan.convnetVariantBudgetMs;
    for (const s of convnetMatmuls(plan.batch)) {
      const d = matmulDims(s.a, s.b, s.opts);
      const predicted = longRate ? (2 * d.M * d.N * d.K) / longRate / 1e6 : undefined;
      const r = await matmulCase(gpu, s, variant, plan, longBudget, predicted);
      results.push(r);
      longRate = r.gflops ?? longRate;
      progress(`matmul ${variant} ${s.label}: ${r.gflops !== undefined ? `${r.gflops} GFLOP/s` : r.skipped}`);
    }
    let rate: number | undefined; // GFLOP/s of the previous cube, to predict the next one
    for (const n of plan.cubes) {
      const predicted = rate ? (2 * n ** 3) / rate / 1e6 : undefined;
      const r = await matmulCase(gpu, cube(n), variant, plan, budget, predicted);
      results.push(r);
      rate = r.gflops ?? rate;
      progress(`matmul ${variant} ${n}³: ${r.gflops !== undefined ? `${r.gflops} GFLOP/s` : r.skipped}`);
      gpu.ctx.pool.trim();
    }
  }
  return results;
}

/** Softmax-cross-entropy forward (softmax, per-row loss, batch mean) and backward, at the net's 10 classes. */
export async function xentBench(gpu: GpuBackend, plan: Plan, rowsList: number[]): Promise<KernelResult[]> {
  const results: KernelResult[] = [];
  const cols = 10;
  for (const rows of rowsList) {
    const rng = new Rng(plan.seed);
    const logits = uniform(rng, rows * cols).map((v) => 4 * v);
    const labels = Uint32Array.from({ length: rows }, () => rng.int(cols));
    const x = gpu.fromArray(logits, [rows, cols]);
    const t = gpu.labels(labels, cols);
    try {
      const probsRef = new Float64Array(rows * cols);
      const lossRef = xentCpu(Float64Array.from(logits), labels, probsRef, rows, cols);
      const dxRef = new Float64Array(rows * cols);
      xentBackwardCpu(probsRef, labels, dxRef, rows, cols);

      const { probs, loss } = gpu.softmaxCrossEntropy(x, t);
      const dx = gpu.softmaxCrossEntropyBackward(probs, t);
      const fwdCheck = compare([...(await gpu.read(probs)), ...(await gpu.read(loss))], [...probsRef, lossRef], 1e-5);
      const bwdCheck = compare(await gpu.read(dx), dxRef, 1e-6);
      gpu.dispose(probs, loss, dx);
      const bytes = rows * cols * 4;
      const shape = `logits[${rows},${cols}], labels[${rows}]`;
      const cases: [string, KernelCheck, () => void, number][] = [
        ['forward (softmax, loss, mean)', fwdCheck, () => { const r = gpu.softmaxCrossEntropy(x, t); gpu.dispose(r.probs, r.loss); }, 2 * bytes],
        ['backward (probs - t) / n', bwdCheck, () => {
          const r = gpu.softmaxCrossEntropy(x, t);
          gpu.dispose(gpu.softmaxCrossEntropyBackward(r.probs, t), r.probs, r.loss);
        }, 4 * bytes],
      ];
      for (const [op, check, record, moved] of cases) {
        const base: KernelResult = { family: 'softmax-xent', op, shape, check };
        if (!check.ok) { results.push({ ...base, skipped: 'wrong result: not timed' }); continue; }
        const timed = await timeGpu(gpu.ctx, record, { reps: plan.reps, budgetMs: plan.kernelBudgetMs });
        results.push('skipped' in timed ? { ...base, skipped: timed.skipped }
          : { ...base, ms: timed.ms, callsPerSample: timed.perSample, gbps: sig(moved / timed.ms.median / 1e6, 3) });
      }
    } finally {
      gpu.dispose(x, t);
    }
  }
  return results;
}

/** Full sums (multi-pass), column sums (the bias gradient), row argmax and correct counts. */
export async function reduceBench(gpu: GpuBackend, plan: Plan, sizes: { sum: number[]; columns: [number, number][]; rows: number[] }): Promise<KernelResult[]> {
  const results: KernelResult[] = [];
  const rng = new Rng(plan.seed);
  const run = async (op: string, shape: string, input: number, check: KernelCheck, record: () => void) => {
    const base: KernelResult = { family: 'reduce', op, shape, check };
    if (!check.ok) return results.push({ ...base, skipped: 'wrong result: not timed' });
    const timed = await timeGpu(gpu.ctx, record, { reps: plan.reps, budgetMs: plan.kernelBudgetMs });
    results.push('skipped' in timed ? { ...base, skipped: timed.skipped }
      : { ...base, ms: timed.ms, callsPerSample: timed.perSample, gbps: sig((4 * input) / timed.ms.median / 1e6, 3) });
  };

  for (const n of sizes.sum) {
    const data = uniform(rng, n);
    const x = gpu.fromArray(data, [n]);
    const s = gpu.sum(x);
    const [got] = await gpu.read(s);
    gpu.dispose(s);
    // Relative to the sum of magnitudes: f32 partial sums lose about eps·log(n) of it.
    const scale = data.reduce((acc, v) => acc + Math.abs(v), 0);
    const err = Math.abs(got! - sumCpu(Float64Array.from(data))) / scale;
    await run('sum', `x[${n}]`, n, { maxAbsErr: sig(err, 3), tolerance: 1e-6, compared: 'all (error / Σ|x|)', ok: err <= 1e-6 }, () => gpu.dispose(gpu.sum(x)));
    gpu.dispose(x);
  }
  for (const [rows, cols] of sizes.columns) {
    const data = uniform(rng, rows * cols);
    const x = gpu.fromArray(data, [rows, cols]);
    const ref = new Float64Array(cols);
    columnSumCpu(Float64Array.from(data), ref, rows, cols);
    const out = gpu.sumColumns(x);
    const check = compare(await gpu.read(out), ref, 1e-6 * rows);
    gpu.dispose(out);
    await run('column sum', `x[${rows},${cols}]`, rows * cols, check, () => gpu.dispose(gpu.sumColumns(x)));
    gpu.dispose(x);
  }
  for (const rows of sizes.rows) {
    const cols = 10;
    const data = uniform(rng, rows * cols);
    const labels = Uint32Array.from({ length: rows }, () => rng.int(cols));
    const x = gpu.fromArray(data, [rows, cols]);
    const t = gpu.labels(labels, cols);
    const ref = new Uint32Array(rows);
    argmaxCpu(Float64Array.from(data), ref, rows, cols);
    const am = gpu.argmax(x);
    await run('argmax rows', `x[${rows},${cols}]`, rows * cols, compare(await gpu.read(am), ref, 0), () => gpu.dispose(gpu.argmax(x)));
    const cc = gpu.countCorrect(x, t);
    const count = countCorrectCpu(Float64Array.from(data), labels, rows, cols);
    await run('count correct', `x[${rows},${cols}], t[${rows}]`, rows * cols, compare(await gpu.read(cc), [count], 0), () => gpu.dispose(gpu.countCorrect(x, t)));
    gpu.dispose(am, cc, x, t);
  }
  return results;
}

export interface KernelSizes {
  xentRows: number[];
  sum: number[];
  columns: [number, number][];
  rows: number[];
}

export function kernelSizes(plan: Plan): KernelSizes {
  if (plan.quick) return { xentRows: [plan.batch], sum: [10_000], columns: [[plan.batch, plan.hidden]], rows: [plan.batch] };
  return {
    xentRows: [plan.batch, 10_000],
    sum: [plan.batch, 1 << 20, 1 << 24],
    columns: [[plan.batch, plan.hidden], [plan.batch, 10], [10_000, 784]],
    rows: [plan.batch, 10_000],
  };
}

export async function kernelBench(gpu: GpuBackend, plan: Plan, progress: Progress): Promise<KernelResult[]> {
  const sizes = kernelSizes(plan);
  const results = await matmulBench(gpu, plan, progress);
  results.push(...(await xentBench(gpu, plan, sizes.xentRows)));
  progress('softmax-cross-entropy done');
  results.push(...(await reduceBench(gpu, plan, sizes)));
  progress('reductions done');
  return results;
}
