import type { MemoryStats, TrainingEngine } from './engine.js';
import { totalSteps, type StepPlan } from './plan.js';
import { now, sig, summarize, type Summary } from './stats.js';

export interface SyncModeResult {
  /** Steps per loss readback. */
  syncEvery: number;
  /** Milliseconds per step: per step when syncing every step, per window / window size otherwise. */
  ms: Summary;
}

export interface TrainingResult {
  name: string;
  label: string;
  how: string;
  everyStep: SyncModeResult;
  everyWindow: SyncModeResult;
  testAccuracy: number;
  /** Losses read back during the run: the first warm-up step's and the last step's. */
  firstLoss: number;
  lastLoss: number;
  steps: number;
  wallMs: number;
  /** After warm-up and after the last step: equal when a step allocates nothing. */
  memory?: { after_warmup: MemoryStats; after_run: MemoryStats };
}

export type Progress = (line: string) => void;

/**
 * Warm-up, then the two sync modes back to back on one training run, then test accuracy.
 * The timer brackets the step calls and the loss readback, so what is timed is work finished
 * on the device, not work submitted.
 */
export async function runTraining(engine: TrainingEngine, plan: StepPlan, batches: readonly Uint32Array[], progress: Progress = () => {}): Promise<TrainingResult> {
  if (batches.length < totalSteps(plan)) throw new RangeError(`runTraining: ${batches.length} batches for ${totalSteps(plan)} steps`);
  const start = now();
  let next = 0;
  const checked = (loss: number): number => {
    if (!Number.isFinite(loss)) throw new Error(`${engine.name}: the loss is ${loss} at step ${next}; the run diverged`);
    return loss;
  };

  let firstLoss = NaN;
  for (let i = 0; i < plan.warmup; i++) {
    engine.step(batches[next++]!);
    const loss = checked(await engine.readLoss());
    if (i === 0) firstLoss = loss;
  }
  progress(`${engine.name}: warm-up ${plan.warmup} steps done`);
  const afterWarmup = engine.memory?.();

  const perStep: number[] = [];
  let lastLoss = firstLoss;
  for (let i = 0; i < plan.steps; i++) {
    const t0 = now();
    engine.step(batches[next++]!);
    lastLoss = checked(await engine.readLoss());
    perStep.push(now() - t0);
  }
  const everyStep = summarize(perStep);
  progress(`${engine.name}: sync every step: median ${everyStep.median.toFixed(2)} ms/step`);

  const perWindow: number[] = [];
  for (let w = 0; w < plan.windows; w++) {
    const t0 = now();
    for (let i = 0; i < plan.window; i++) engine.step(batches[next++]!);
    lastLoss = checked(await engine.readLoss());
    perWindow.push((now() - t0) / plan.window);
  }
  const everyWindow = summarize(perWindow);
  progress(`${engine.name}: sync every ${plan.window} steps: median ${everyWindow.median.toFixed(2)} ms/step`);

  const afterRun = engine.memory?.();
  if (afterWarmup && afterRun) {
    const mib = (m: MemoryStats) => `${(m.bytes_allocated / 2 ** 20).toFixed(1)} MiB in ${m.buffers_allocated} buffers`;
    progress(`${engine.name}: GPU memory allocated ${mib(afterWarmup)} after warm-up, ${mib(afterRun)} after ${next} steps`);
  }
  const testAccuracy = await engine.testAccuracy();
  progress(`${engine.name}: test accuracy ${testAccuracy.toFixed(4)} after ${next} steps`);
  return {
    name: engine.name,
    label: engine.label,
    how: engine.how,
    everyStep: { syncEvery: 1, ms: everyStep },
    everyWindow: { syncEvery: plan.window, ms: everyWindow },
    testAccuracy,
    firstLoss: sig(firstLoss),
    lastLoss: sig(lastLoss),
    steps: next,
    wallMs: now() - start,
    memory: afterWarmup && afterRun ? { after_warmup: afterWarmup, after_run: afterRun } : undefined,
  };
}
