import type { TrainingEngine } from './engine.js';
import { now, sig, summarize, type Summary } from './stats.js';

/**
 * Our GPU device against our CPU device with their timings interleaved: the question of the
 * performance target "the GPU device is not slower than the CPU device", answered so that the
 * machine's drift (other jobs, a busy host) hits both alike. The `steps` section times each
 * engine in a run of its own, one after the other, where a load change between the two runs
 * moves the ratio by 10–20% on this machine.
 *
 * Each round runs one window on each device, back to back, in an order that flips every round,
 * and gives one paired ratio (CPU ms ÷ GPU ms: above 1, the GPU device is faster). Both devices
 * train the same net from the same weights on the same batches, so they must end at the same
 * loss; a disagreement is an error, not a timing.
 */
export interface GpuVsCpuPlan {
  /** Synced steps on each device before timing (pipelines, pools, JITs). */
  warmup: number;
  /** Rounds of one window per device, synced once at the window's end. */
  rounds: number;
  /** Steps per window (100 in a full run, as the steps section's second mode). */
  window: number;
  /** Rounds of one step per device, each synced (the steps section's first mode). */
  stepRounds: number;
}

export interface PairedTiming {
  /** ms per step on each device, one sample per round. */
  gpu: Summary;
  cpu: Summary;
  /** Per round: CPU ms ÷ GPU ms, i.e. GPU steps/s ÷ CPU steps/s. */
  ratio: Summary;
}

export interface GpuVsCpuResult {
  how: string;
  /** Syncing once per window of `window` steps. */
  window: number;
  everyWindow: PairedTiming;
  /** Syncing after every step. */
  everyStep: PairedTiming;
  /** The two devices' losses after the last step, which must agree. */
  lastLoss: { gpu: number; cpu: number };
}

export const GPU_VS_CPU_HOW =
  'ours-gpu and ours-cpu trained side by side in one process (browser: one page), the same weights and batches; each round ' +
  'one window per device back to back, the order flipping every round; ratio = CPU ms ÷ GPU ms per round (above 1: the GPU device is faster)';

/** Largest |GPU loss − CPU loss| accepted after the run (float32 rounding over a few hundred steps stays far below it). */
export const LOSS_AGREEMENT = 1e-2;

/** Summaries of paired samples: each device's ms/step and the per-round ratio CPU ÷ GPU. */
export function pairedTiming(gpuMs: readonly number[], cpuMs: readonly number[]): PairedTiming {
  if (gpuMs.length !== cpuMs.length) throw new RangeError(`pairedTiming: ${gpuMs.length} GPU samples against ${cpuMs.length} CPU samples`);
  const ratios = gpuMs.map((g, i) => cpuMs[i]! / g);
  const s = summarize(ratios);
  return { gpu: summarize(gpuMs), cpu: summarize(cpuMs), ratio: { ...s, median: sig(s.median, 3), min: sig(s.min, 3), max: sig(s.max, 3) } };
}

export function gpuVsCpuBatches(p: GpuVsCpuPlan): number {
  return p.warmup + p.rounds * p.window + p.stepRounds;
}

export async function gpuVsCpu(
  gpu: TrainingEngine,
  cpu: TrainingEngine,
  batches: readonly Uint32Array[],
  p: GpuVsCpuPlan,
  progress: (line: string) => void = () => {},
  /** Milliseconds; tests pass a fake one so that the machine's load cannot move the ratios. */
  clock: () => number = now,
): Promise<GpuVsCpuResult> {
  if (batches.length < gpuVsCpuBatches(p)) throw new RangeError(`gpuVsCpu: ${batches.length} batches for ${gpuVsCpuBatches(p)} steps`);
  // Each device walks the same batch sequence with its own cursor.
  const cursor = new Map<TrainingEngine, number>([[gpu, 0], [cpu, 0]]);
  const run = async (engine: TrainingEngine, steps: number): Promise<number> => {
    const t0 = clock();
    for (let i = 0; i < steps; i++) {
      const next = cursor.get(engine)!;
      engine.step(batches[next]!);
      cursor.set(engine, next + 1);
    }
    const loss = await engine.readLoss();
    if (!Number.isFinite(loss)) throw new Error(`${engine.name}: the loss is ${loss}; the run diverged`);
    return (clock() - t0) / steps;
  };
  for (const engine of [gpu, cpu]) for (let i = 0; i < p.warmup; i++) await run(engine, 1);

  const paired = async (rounds: number, steps: number) => {
    const g: number[] = [];
    const c: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const engine of r % 2 === 0 ? [gpu, cpu] : [cpu, gpu]) (engine === gpu ? g : c).push(await run(engine, steps));
    }
    return pairedTiming(g, c);
  };
  const everyWindow = await paired(p.rounds, p.window);
  progress(`gpu vs cpu, ${p.rounds} rounds of ${p.window} steps: GPU ${everyWindow.gpu.median.toFixed(2)}, CPU ${everyWindow.cpu.median.toFixed(2)} ms/step, ratio ${everyWindow.ratio.median}`);
  const everyStep = await paired(p.stepRounds, 1);
  progress(`gpu vs cpu, ${p.stepRounds} rounds of 1 step: GPU ${everyStep.gpu.median.toFixed(2)}, CPU ${everyStep.cpu.median.toFixed(2)} ms/step, ratio ${everyStep.ratio.median}`);

  const lastLoss = { gpu: await gpu.readLoss(), cpu: await cpu.readLoss() };
  if (!(Math.abs(lastLoss.gpu - lastLoss.cpu) <= LOSS_AGREEMENT)) {
    throw new Error(`gpu vs cpu: the devices trained apart (last loss ${lastLoss.gpu} on the GPU, ${lastLoss.cpu} on the CPU): not the same training, so no timing`);
  }
  return { how: GPU_VS_CPU_HOW, window: p.window, everyWindow, everyStep, lastLoss };
}
