/**
 * Our matmul against TensorFlow.js's webgpu `tf.matMul` on the same adapter: n×n·n×n products of
 * the same random f32 inputs, every engine checked before it is timed, then timed from the CPU
 * clock with the work finished. Samples of the engines are interleaved (our default, TF.js, our
 * other variants, then again) so that a change in the machine's load hits every engine alike.
 */
import { Rng } from 'webgpu-backprop';
import type { MatmulVariant } from 'webgpu-backprop/kernels';
import { uniform } from './kernels.js';
import type { MatmulEngine, MatmulEngineSource } from './matmul-engine.js';
import type { MatmulVsTfjsPlan, Plan } from './plan.js';
import { now, sig, summarize, type Summary } from './stats.js';

export interface MatmulCheck {
  /** What the product was compared with. */
  against: string;
  /** max |product − reference| / max |reference|, over what was compared. */
  relErr: number;
  tolerance: number;
  ok: boolean;
}

export interface MatmulEngineResult {
  /** 'tfjs-webgpu' or 'ours-<variant>'. */
  engine: string;
  variant?: MatmulVariant;
  /** Ours: the variant this adapter trains with. */
  isDefault?: boolean;
  check?: MatmulCheck;
  /** ms per product, one sample per `iterations` products queued back to back and finished once. */
  ms?: Summary;
  iterations?: number;
  /** 2·n³ / median, per product. */
  gflops?: number;
  /** Ours: this variant's GFLOP/s ÷ TF.js's (above 1: ours is faster). */
  ratioVsTfjs?: number;
  skipped?: string;
}

export interface MatmulVsTfjsSize {
  n: number;
  engines: MatmulEngineResult[];
  /** Our default variant's GFLOP/s ÷ TF.js's; null when either was not timed. */
  ratio: number | null;
  /** Our fastest timed variant and its ratio (the default, unless another measured faster). */
  best: { engine: string; ratio: number } | null;
}

export interface MatmulVsTfjs {
  tfjs: { label: string; adapter: string } | { error: string };
  ours: { label: string; adapter: string };
  defaultVariant: MatmulVariant;
  plan: MatmulVsTfjsPlan;
  how: string;
  sizes: MatmulVsTfjsSize[];
}

/** Our variants, the adapter's default first; TF.js, or why it could not start. */
export interface MatmulVsTfjsSources {
  ours: { variant: MatmulVariant; source: MatmulEngineSource }[];
  tfjs: MatmulEngineSource | Error;
}

type Progress = (line: string) => void;

const HOW =
  'per size and engine: one product read back and checked (ours against the float64 reference on four rows, TF.js and our other ' +
  'variants against our default variant on every entry), one warm product timed alone, then samples of `iterations` products ' +
  'queued back to back and finished once (ours: GpuContext.finish, a submit and onSubmittedWorkDone; TF.js: tf.matMul, each ' +
  'result disposed, then .data() of a 1×1 slice of the last one), interleaved across engines; ms = sample time / iterations';

/** Relative to the largest entry: a product of n terms in f32 carries about n·eps of it at worst. */
const tolerance = (n: number) => 1e-6 * n;

function relErr(got: ArrayLike<number>, want: ArrayLike<number>, index = (i: number) => i): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[index(i)]! - want[i]!);
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff / (scale || 1);
}

/** Rows i of A·B in float64: the full reference at 1024³ would take longer than the bench. */
function referenceRows(A: Float32Array, B: Float32Array, n: number, rows: number[]): Float64Array {
  const ref = new Float64Array(rows.length * n);
  rows.forEach((i, r) => {
    for (let k = 0; k < n; k++) {
      const aik = A[i * n + k]!;
      for (let j = 0; j < n; j++) ref[r * n + j]! += aik * B[k * n + j]!;
    }
  });
  return ref;
}

/** ms a product of this size would take at `gflops`. */
const msAt = (n: number, gflops: number) => (2 * n ** 3) / gflops / 1e6;
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);

function repsFor(singleMs: number, p: MatmulVsTfjsPlan): number {
  // Products of a second or more are long enough that three samples show their spread.
  return singleMs > 1000 ? Math.min(p.reps, 3) : p.reps;
}

function iterationsFor(singleMs: number, p: MatmulVsTfjsPlan): number {
  return Math.max(1, Math.min(1000, Math.ceil(p.sampleMs / Math.max(singleMs, 1e-3))));
}

/**
 * The whole cost of one engine at one size: the checked product (which is also the warm-up), a
 * probe of one product, and the samples. Where a sample is one product the probe is the first
 * sample: at 1024³ on a software adapter that saves TF.js one product of several seconds.
 */
export function predictedMs(singleMs: number, p: MatmulVsTfjsPlan): number {
  const iterations = iterationsFor(singleMs, p);
  const reps = repsFor(singleMs, p);
  return (1 + (iterations === 1 ? reps : 1 + reps * iterations)) * singleMs;
}

/**
 * Fills in each of our variants' ratio to TF.js, the default variant's ratio and the fastest
 * variant. Ratios come from the medians (TF.js ms ÷ ours), which is GFLOP/s ÷ GFLOP/s.
 */
export function withTfjsRatios(n: number, engines: MatmulEngineResult[]): MatmulVsTfjsSize {
  const tfjs = engines.find((e) => e.engine === 'tfjs-webgpu');
  const out = engines.map((e) =>
    e.engine !== 'tfjs-webgpu' && e.ms && tfjs?.ms ? { ...e, ratioVsTfjs: sig(tfjs.ms.median / e.ms.median, 3) } : e,
  );
  const ours = out.filter((e) => e.engine !== 'tfjs-webgpu' && e.ratioVsTfjs !== undefined);
  const fastest = ours.reduce<MatmulEngineResult | undefined>((b, e) => (b && b.ratioVsTfjs! >= e.ratioVsTfjs! ? b : e), undefined);
  return {
    n,
    engines: out,
    ratio: ours.find((e) => e.isDefault)?.ratioVsTfjs ?? null,
    best: fastest ? { engine: fastest.engine, ratio: fastest.ratioVsTfjs! } : null,
  };
}

interface Contender {
  name: string;
  variant?: MatmulVariant;
  isDefault?: boolean;
  source: MatmulEngineSource | Error;
  budgetMs: number;
}

interface Running {
  entry: MatmulEngineResult;
  engine: MatmulEngine;
  iterations: number;
  reps: number;
  samples: number[];
}

async function sample(r: Running): Promise<void> {
  const t0 = now();
  for (let i = 0; i < r.iterations; i++) r.engine.enqueue();
  await r.engine.finish();
  r.samples.push((now() - t0) / r.iterations);
}

/**
 * Opens, checks and warms one engine; returns it ready to sample, or records why not.
 * `reference` is what its product must match.
 */
async function prepare(
  c: Contender, n: number, A: Float32Array, B: Float32Array, reference: { against: string; check: (C: Float32Array) => number },
  entry: MatmulEngineResult, predicted: number | undefined, p: MatmulVsTfjsPlan,
): Promise<{ running?: Running; product?: Float32Array }> {
  if (c.source instanceof Error) return (entry.skipped = `failed: ${c.source.message}`), {};
  if (predicted !== undefined && predictedMs(predicted, p) > c.budgetMs) {
    entry.skipped = `predicted ${fmt(predictedMs(predicted, p))} (${fmt(predicted)} a product) exceeds the ${fmt(c.budgetMs)} budget`;
    return {};
  }
  let engine: MatmulEngine | undefined;
  try {
    engine = await c.source.open(n, A, B);
    const product = await engine.product();
    const err = reference.check(product);
    const tol = tolerance(n);
    entry.check = { against: reference.against, relErr: sig(err, 3), tolerance: tol, ok: err <= tol };
    if (!entry.check.ok) {
      entry.skipped = 'wrong result: not timed';
      engine.dispose();
      return {};
    }
    const probe: Running = { entry, engine, iterations: 1, reps: 1, samples: [] };
    await sample(probe);
    const single = probe.samples[0]!;
    const iterations = iterationsFor(single, p);
    const reps = repsFor(single, p);
    if (predictedMs(single, p) > c.budgetMs) {
      entry.skipped = `measured ${fmt(single)} a product: ${reps} samples exceed the ${fmt(c.budgetMs)} budget`;
      engine.dispose();
      return { product };
    }
    return { running: { entry, engine, iterations, reps, samples: iterations === 1 ? probe.samples : [] }, product };
  } catch (e) {
    entry.skipped = `failed: ${(e as Error).message.split('\n')[0]}`;
    engine?.dispose();
    return {};
  }
}

export async function matmulVsTfjs(sources: MatmulVsTfjsSources, plan: Plan, progress: Progress): Promise<MatmulVsTfjs> {
  const p = plan.matmulVsTfjs;
  const [first] = sources.ours;
  if (!first) throw new Error('matmul vs TF.js: no variant of ours to compare');
  const contenders: Contender[] = [
    { name: 'tfjs-webgpu', source: sources.tfjs, budgetMs: p.budgetMs },
    ...sources.ours.map(({ variant, source }, i) => ({
      name: `ours-${variant}`, variant, isDefault: i === 0, source, budgetMs: i === 0 ? p.budgetMs : p.variantBudgetMs,
    })),
  ];
  // GFLOP/s each engine reached at the previous size, to predict the next one before running it.
  const rates = new Map<string, number>();
  const sizes: MatmulVsTfjsSize[] = [];
  for (const n of p.sizes) {
    const rng = new Rng(plan.seed);
    const A = uniform(rng, n * n);
    const B = uniform(rng, n * n);
    const rows = [0, 1, n >> 1, n - 1];
    const ref = referenceRows(A, B, n, rows);
    const refCheck = {
      against: `float64 reference, rows ${rows.join(', ')}`,
      check: (C: Float32Array) => relErr(C, ref, (x) => rows[Math.floor(x / n)]! * n + (x % n)),
    };
    // Ours' default variant is checked first, so TF.js and the other variants can be compared with all of it.
    const order = [...contenders.slice(1, 2), contenders[0]!, ...contenders.slice(2)];
    let oursProduct: Float32Array | undefined;
    const entries = new Map<string, MatmulEngineResult>();
    const running: Running[] = [];
    for (const c of order) {
      const entry: MatmulEngineResult = { engine: c.name, ...(c.variant && { variant: c.variant, isDefault: !!c.isDefault }) };
      entries.set(c.name, entry);
      const rate = rates.get(c.name);
      const reference = oursProduct
        ? { against: `ours-${first.variant}, every entry`, check: (C: Float32Array) => relErr(C, oursProduct!) }
        : refCheck;
      const prepared = await prepare(c, n, A, B, reference, entry, rate ? msAt(n, rate) : undefined, p);
      if (c.isDefault && entry.check?.ok) oursProduct = prepared.product;
      if (prepared.running) running.push(prepared.running);
      progress(`matmul vs TF.js ${n}³ ${c.name}: ${entry.skipped ?? `checked (rel err ${entry.check!.relErr.toExponential(1)}), ${prepared.running!.reps} samples of ${prepared.running!.iterations}`}`);
    }
    try {
      const rounds = Math.max(0, ...running.map((r) => r.reps));
      for (let round = 0; round < rounds; round++) {
        for (const r of running) if (r.samples.length < r.reps) await sample(r);
      }
    } finally {
      for (const r of running) r.engine.dispose();
    }
    for (const r of running) {
      r.entry.ms = summarize(r.samples);
      r.entry.iterations = r.iterations;
      r.entry.gflops = sig((2 * n ** 3) / r.entry.ms.median / 1e6, 3);
      rates.set(r.entry.engine, r.entry.gflops);
    }
    const size = withTfjsRatios(n, contenders.map((c) => entries.get(c.name)!));
    progress(`matmul vs TF.js ${n}³: ${size.engines.map((e) => `${e.engine} ${e.gflops ?? '-'} GFLOP/s`).join(', ')}; ours ÷ TF.js ${size.ratio ?? '-'}`);
    sizes.push(size);
  }
  return {
    tfjs: sources.tfjs instanceof Error ? { error: sources.tfjs.message } : { label: sources.tfjs.label, adapter: sources.tfjs.adapter },
    ours: { label: first.source.label, adapter: first.source.adapter },
    defaultVariant: first.variant,
    plan: p,
    how: HOW,
    sizes,
  };
}

/** For the result's notes: what was not timed, and whether both sides ran on one adapter. */
export function matmulVsTfjsNotes(m: MatmulVsTfjs): string[] {
  const notes: string[] = [];
  if ('error' in m.tfjs) notes.push(`matmul vs TF.js: TF.js webgpu could not run: ${m.tfjs.error}`);
  else if (m.tfjs.adapter !== m.ours.adapter) notes.push(`matmul vs TF.js: the adapters differ: TF.js ${m.tfjs.adapter}, ours ${m.ours.adapter}`);
  for (const s of m.sizes) {
    for (const e of s.engines) if (e.skipped && !('error' in m.tfjs && e.engine === 'tfjs-webgpu')) notes.push(`matmul vs TF.js ${s.n}³ ${e.engine}: skipped, ${e.skipped}`);
  }
  return notes;
}
