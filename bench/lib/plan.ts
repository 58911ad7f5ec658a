import { CONV_ENGINES, type ConvPlan } from './conv-bench.js';
import type { GpuVsCpuPlan } from './gpu-vs-cpu.js';
import type { HostTimePlan } from './host-time.js';

/**
 * How much each measurement runs. Every training engine gets the same counts, so all of them
 * take the same optimizer steps on the same batches and their test accuracies compare.
 */
export interface StepPlan {
  /** Steps before timing starts, each synced (compiles pipelines, fills buffer pools, JITs). */
  warmup: number;
  /** Timed steps that each read the loss back. */
  steps: number;
  /** Steps per readback in the second mode (100 in a full run). */
  window: number;
  /** Timed windows in the second mode. */
  windows: number;
}

export interface Plan {
  quick: boolean;
  seed: number;
  /** The seed's model and optimizer: 784-hidden-10, batch, learning rate. */
  hidden: number;
  batch: number;
  lr: number;
  train: StepPlan;
  /** Repeats of each kernel and overhead measurement (median, min, max over them). */
  reps: number;
  /** A kernel measurement predicted to take longer than this is skipped (and said so). */
  kernelBudgetMs: number;
  /** The same for the non-default matmul variants, which only show why the default was chosen. */
  variantBudgetMs: number;
  /**
   * The same for the non-default variants on the convnets' long-K products (86 MFLOP each;
   * kernels.ts, convnetMatmuls), there for the hardware variants: on a GPU a call takes well
   * under a millisecond, on SwiftShader 0.3-0.9 s for every variant but `unrolled`, where the
   * variant budget would time each of them in full (a minute for the four).
   */
  convnetVariantBudgetMs: number;
  /** Every matmul variant, or only the adapter's default one. */
  allVariants: boolean;
  /** The largest cube to try, and the crossover grid. */
  cubes: number[];
  /**
   * batches × hiddens: the seed's net; convBatches: SimpleConvNet at these batch sizes. cellBudgetMs:
   * time per device per cell; maxStepMs: a device predicted slower than this per step is skipped.
   */
  crossover: { batches: number[]; hiddens: number[]; convBatches: number[]; cellBudgetMs: number; maxStepMs: number };
  /** Our matmul against TF.js's webgpu tf.matMul on n×n·n×n products (browser only). */
  matmulVsTfjs: MatmulVsTfjsPlan;
  /** Steps of the long run (Node): the real-GPU target is 10,000 in at most 1 s. */
  longRunSteps: number;
  /** Our GPU device against our CPU device, interleaved (the GPU-not-slower target). */
  gpuVsCpu: GpuVsCpuPlan;
  /** Host time to record and submit one step, per net and path (#16). */
  hostTime: HostTimePlan;
  /** SimpleConvNet's step on every engine, interleaved (the conv section, not run by default). */
  conv: ConvPlan;
}

export interface MatmulVsTfjsPlan {
  sizes: number[];
  /** Timed samples per engine (3 for products of a second or more), interleaved across engines. */
  reps: number;
  /** Each sample runs enough products back to back to last about this long. */
  sampleMs: number;
  /** TF.js and our adapter's default variant: skipped at a size predicted to take longer than this. */
  budgetMs: number;
  /** The same for our other variants, which only show why the default was chosen. */
  variantBudgetMs: number;
}

export const FULL_PLAN: Plan = {
  quick: false,
  seed: 42,
  hidden: 50,
  batch: 100,
  lr: 0.1,
  train: { warmup: 5, steps: 30, window: 100, windows: 3 },
  reps: 5,
  kernelBudgetMs: 30_000,
  variantBudgetMs: 6_000,
  convnetVariantBudgetMs: 1_500,
  allVariants: true,
  // 4096³ is the real-GPU target's size; on a software adapter it is predicted over budget and skipped.
  cubes: [256, 512, 1024, 2048, 4096],
  crossover: { batches: [1, 10, 100, 1000], hiddens: [50, 256, 1024], convBatches: [1, 10, 100, 1000], cellBudgetMs: 2_000, maxStepMs: 8_000 },
  matmulVsTfjs: { sizes: [256, 512, 1024], reps: 5, sampleMs: 500, budgetMs: 60_000, variantBudgetMs: 10_000 },
  longRunSteps: 10_000,
  gpuVsCpu: { warmup: 5, rounds: 9, window: 100, stepRounds: 31 },
  hostTime: { warmup: 10, mlpSteps: 300, convWarmup: 5, convSteps: 20, convBatch: 100, syncEvery: 10 },
  // The peers take 2–11 s a step on a software adapter: 3 timed steps after 1 warm-up keep the
  // section near two minutes on a quiet machine; ours and NumPy take 11.
  conv: {
    batch: 100,
    lr: 0.001,
    warmup: 1,
    steps: 11,
    slowSteps: 3,
    slow: ['tfjs-webgpu', 'tfjs-wasm', 'tfjs-cpu', 'jax-webgpu'],
    engines: [...CONV_ENGINES],
    peerWaits: 'spin',
  },
};

/** A few steps of everything: checks that the bench runs and its result is well formed, not speed. */
export const QUICK_PLAN: Plan = {
  ...FULL_PLAN,
  quick: true,
  train: { warmup: 1, steps: 3, window: 4, windows: 1 },
  reps: 2,
  kernelBudgetMs: 2_000,
  variantBudgetMs: 500,
  convnetVariantBudgetMs: 500,
  allVariants: false,
  cubes: [256],
  crossover: { batches: [1, 100], hiddens: [50], convBatches: [2], cellBudgetMs: 200, maxStepMs: 5_000 },
  matmulVsTfjs: { sizes: [256], reps: 2, sampleMs: 50, budgetMs: 10_000, variantBudgetMs: 2_000 },
  longRunSteps: 20,
  gpuVsCpu: { warmup: 1, rounds: 2, window: 4, stepRounds: 2 },
  hostTime: { warmup: 4, mlpSteps: 20, convWarmup: 4, convSteps: 2, convBatch: 10, syncEvery: 10 },
  conv: { ...FULL_PLAN.conv, batch: 10, warmup: 1, steps: 2, slowSteps: 1 },
};

export function totalSteps(p: StepPlan): number {
  return p.warmup + p.steps + p.window * p.windows;
}
