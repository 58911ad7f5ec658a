import type { GpuContext } from 'webgpu-backprop';
import { now, summarize, type Summary } from './stats.js';

export interface TimingOptions {
  reps: number;
  /** Skip (and say so) when the measurement is predicted to take longer than this. */
  budgetMs: number;
  /** A prediction made before running anything (e.g. from a smaller size's rate). */
  predictedMs?: number;
  /** Each sample lasts at least about this long, so that timer and submit costs amortize. */
  sampleMs?: number;
}

export type Timed = { ms: Summary; perSample: number } | { skipped: string };

/**
 * Time per call of `record` (which only records GPU work), with the work finished: each sample
 * records `perSample` calls into one submit and waits for the queue to drain. One untimed call
 * first, so pipeline creation and first-use allocations are not timed.
 */
export async function timeGpu(ctx: GpuContext, record: () => void, o: TimingOptions): Promise<Timed> {
  const early = o.predictedMs !== undefined && tooSlow(o.predictedMs, o.reps, o.budgetMs);
  if (early) return { skipped: early };
  const once = async () => {
    const t0 = now();
    record();
    await ctx.finish();
    return now() - t0;
  };
  await once();
  const single = await once();
  const perSample = Math.max(1, Math.min(1000, Math.ceil((o.sampleMs ?? 40) / Math.max(single, 1e-3))));
  // Calls of a second or more are long enough that three repeats show their spread.
  const reps = single > 1000 ? Math.min(o.reps, 3) : o.reps;
  if (reps * perSample * single > o.budgetMs) {
    return { skipped: `measured ${fmt(single)} a call: ${reps} repeats exceed the ${fmt(o.budgetMs)} budget` };
  }
  const samples: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = now();
    for (let i = 0; i < perSample; i++) record();
    await ctx.finish();
    samples.push((now() - t0) / perSample);
  }
  return { ms: summarize(samples), perSample };
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);

/** Why a measurement of `reps` calls (plus two untimed) predicted at `singleMs` each is skipped, or '' to run it. */
export function tooSlow(singleMs: number, reps: number, budgetMs: number): string {
  const total = (2 + (singleMs > 1000 ? Math.min(reps, 3) : reps)) * singleMs;
  return total > budgetMs ? `predicted ${fmt(total)} (${fmt(singleMs)} a call) exceeds the ${fmt(budgetMs)} budget` : '';
}
