import type { AdapterDescription } from 'webgpu-backprop';
import type { ConvBenchResult } from './conv-bench.js';
import type { GpuVsCpuResult } from './gpu-vs-cpu.js';
import type { HostTimeResult } from './host-time.js';
import type { LongRunResult } from './long-run.js';
import type { CrossoverResult } from './crossover.js';
import type { KernelResult } from './kernels.js';
import type { MatmulVsTfjs } from './matmul-vs-tfjs.js';
import type { OverheadResult } from './overhead.js';
import type { Plan } from './plan.js';
import { sig } from './stats.js';
import type { TrainingResult } from './train-bench.js';

export const SCHEMA = 'webgpu-backprop-bench/1';

export interface SyncWindowEntry {
  /** Steps per loss readback (100 in a full run). */
  n: number;
  ms_per_step: number;
  steps_per_s: number;
  min_ms: number;
  max_ms: number;
  windows: number;
}

/** One engine in the result's `engines` map. */
export interface EngineEntry {
  /** Median ms per step, syncing (reading the loss back) every step, after warm-up. */
  ms_per_step: number;
  steps_per_s: number;
  min_ms: number;
  max_ms: number;
  samples: number;
  /** The same run, syncing once every n steps. */
  sync_every_n: SyncWindowEntry;
  /** Test accuracy after the run's steps (MNIST test set, or the synthetic one: see settings.data). */
  test_accuracy: number;
  first_loss: number;
  last_loss: number;
  steps: number;
  label: string;
  how: string;
  /** GPU memory after warm-up and after the run (ours-gpu): flat when a step allocates nothing. */
  gpu_memory?: TrainingResult['memory'];
  /** Our steps/s over this engine's (above 1: ours is faster), per sync mode. */
  ratio_ours_gpu?: { every_step: number; every_n: number };
  /** The same for our fused step (ours-gpu-fused), where it ran. */
  ratio_ours_gpu_fused?: { every_step: number; every_n: number };
  ratio_ours_cpu?: { every_step: number; every_n: number };
}

export interface BenchResult {
  schema: typeof SCHEMA;
  where: 'node' | 'browser';
  date: string;
  quick: boolean;
  adapter: (AdapterDescription & { label: string }) | null;
  environment: Record<string, unknown>;
  settings: Record<string, unknown>;
  engines: Record<string, EngineEntry>;
  /** Engines that could not run here, and why. */
  engine_errors: Record<string, string>;
  /** Our GPU device against our CPU device, timed interleaved. */
  gpu_vs_cpu?: GpuVsCpuResult;
  /** The same with our GPU device on the fused step (Node). */
  gpu_vs_cpu_fused?: GpuVsCpuResult;
  /** Host time to record and submit one step, and dispatches per step, per net and path. */
  host_time?: HostTimeResult;
  kernels?: KernelResult[];
  /** Browser only: our matmul against TF.js webgpu's tf.matMul on the same adapter, n×n·n×n. */
  matmul_vs_tfjs?: MatmulVsTfjs;
  overhead?: OverheadResult;
  crossover?: CrossoverResult;
  /** Node: the real-GPU target's 10,000 steps through the Trainer; skipped (with the reason) on a software adapter. */
  long_run?: LongRunResult | { skipped: string };
  /** Node, `--only conv`: SimpleConvNet's step on ours, TF.js, jax-js and NumPy, interleaved. */
  conv?: ConvBenchResult;
  notes: string[];
  runtime_s: number;
  /** Only in a file written between sections (a run cut short leaves it): which sections were done. */
  incomplete?: string;
}

export function engineEntry(r: TrainingResult): EngineEntry {
  const every = r.everyStep.ms;
  const win = r.everyWindow.ms;
  return {
    ms_per_step: sig(every.median),
    steps_per_s: sig(1000 / every.median),
    min_ms: sig(every.min),
    max_ms: sig(every.max),
    samples: every.n,
    sync_every_n: {
      n: r.everyWindow.syncEvery,
      ms_per_step: sig(win.median),
      steps_per_s: sig(1000 / win.median),
      min_ms: sig(win.min),
      max_ms: sig(win.max),
      windows: win.n,
    },
    test_accuracy: r.testAccuracy,
    first_loss: r.firstLoss,
    last_loss: r.lastLoss,
    steps: r.steps,
    label: r.label,
    how: r.how,
    gpu_memory: r.memory,
  };
}

/** Adds ours-gpu's, ours-gpu-fused's and ours-cpu's speed ratio to every other engine (ours' steps/s ÷ theirs). */
export function withRatios(engines: Record<string, EngineEntry>): Record<string, EngineEntry> {
  const out: Record<string, EngineEntry> = {};
  for (const [name, e] of Object.entries(engines)) {
    const ratio = (ours: EngineEntry | undefined) =>
      ours && !name.startsWith('ours-')
        ? { every_step: sig(ours.steps_per_s / e.steps_per_s, 3), every_n: sig(ours.sync_every_n.steps_per_s / e.sync_every_n.steps_per_s, 3) }
        : undefined;
    const fused = ratio(engines['ours-gpu-fused']);
    out[name] = { ...e, ratio_ours_gpu: ratio(engines['ours-gpu']), ...(fused ? { ratio_ours_gpu_fused: fused } : {}), ratio_ours_cpu: ratio(engines['ours-cpu']) };
  }
  return out;
}

export function settingsOf(plan: Plan, data: { source: string; trainCount: number; testCount: number }): Record<string, unknown> {
  return {
    model: `784-${plan.hidden}-10 (ReLU, N(0, 0.01²) weights from seed ${plan.seed}, the same initial values for every engine)`,
    batch: plan.batch,
    lr: plan.lr,
    seed: plan.seed,
    data: data.source,
    data_note:
      data.source === 'mnist'
        ? `MNIST (${data.trainCount} train / ${data.testCount} test images); every engine draws the same batches in the same order`
        : `synthetic data with MNIST's shapes (${data.trainCount} / ${data.testCount} images of 10 noisy class patterns): timings hold, accuracy only shows that training works`,
    warmup_steps: plan.train.warmup,
    timed_steps_sync_every_step: plan.train.steps,
    sync_window: plan.train.window,
    timed_windows: plan.train.windows,
    gpu_vs_cpu: plan.gpuVsCpu,
    host_time: plan.hostTime,
    kernel_reps: plan.reps,
    kernel_budget_ms: plan.kernelBudgetMs,
  };
}

/** Why a kernel measurement was skipped, for the notes; a software adapter's big matmuls belong on hardware. */
export function skipNote(k: KernelResult, software: boolean): string {
  const where = k.family === 'matmul' && software ? ' (run it on a hardware adapter)' : '';
  return `${k.family} ${k.op}${k.variant ? ` ${k.variant}` : ''} ${k.shape}: skipped, ${k.skipped}${where}`;
}
