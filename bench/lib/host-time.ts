/**
 * Host time per step (#16): the JavaScript and Dawn (or browser) time to record and submit one
 * training step, the floor under a step on any GPU, and the dispatches in it. Timed as a new
 * user's loop runs it, around the calls: `GpuDataset.batch`, `net.gradient`, the optimizer's
 * `update`, disposing the batch and `flush` (the one submit); for the fused path
 * `FusedMlpStep.step` and `flush`. Nothing waits for the GPU inside the timing; the GPU is waited
 * for every `syncEvery` steps, outside it, so that its queue stays short.
 */
import { Adam, GpuDataset, planFusedStep, SGD, SimpleConvNet, TwoLayerNet, type GpuBackend, type GpuTensor, type Mnist, type Sequential, type StatefulOptimizer } from 'webgpu-backprop';
import { batchSchedule } from './data.js';
import { sig } from './stats.js';

export interface HostTimePlan {
  /** Untimed steps of the seed's net first: pipelines compiled, pools and caches filled. */
  warmup: number;
  /** Timed steps of the seed's net (hundreds in a full run: a step is a few hundred µs). */
  mlpSteps: number;
  /** Untimed steps of SimpleConvNet first. */
  convWarmup: number;
  /** Timed steps of SimpleConvNet (its GPU work takes about 0.3 s a step on a software adapter). */
  convSteps: number;
  convBatch: number;
  /** Wait for the GPU after this many timed steps (untimed). */
  syncEvery: number;
}

/** Host µs per step over the timed steps: median, 10th and 90th percentiles, extremes. */
export interface HostSummary {
  median: number;
  p10: number;
  p90: number;
  min: number;
  max: number;
  n: number;
}

export interface HostTimeEntry {
  /** e.g. 'TwoLayerNet 784-50-10, SGD'. */
  name: string;
  net: 'two-layer' | 'simple-conv';
  /** `layers`: the book's layer-by-layer step; `fused`: FusedMlpStep (planFusedStep). */
  path: 'layers' | 'fused';
  optimizer: 'SGD' | 'Adam';
  batch: number;
  /** Whether the context kept its dispatch trace during the timed steps (off unless asked for). */
  tracing: boolean;
  /** Steps recorded into each submit (TrainConfig.stepsPerSubmit): a step's time is then its share of the submit's. */
  perSubmit: number;
  /** Why this path was not timed (planFusedStep's reason); the fields below are then absent. */
  skipped?: string;
  /** Compute dispatches recorded per step (GpuContext.dispatches over the timed steps). */
  dispatchesPerStep?: number;
  /** With the trace on: the dispatches the last step's trace lists. */
  tracedDispatches?: number;
  /** Queue submits per step (1: the whole step is one command buffer). */
  submitsPerStep?: number;
  /** Host µs to record and submit one step. */
  us?: HostSummary;
  /** The median step's µs ÷ dispatches per step. */
  usPerDispatch?: number;
}

export interface HostTimeResult {
  how: string;
  plan: HostTimePlan;
  entries: HostTimeEntry[];
}

const HOW =
  'host µs per step (median, p10, p90 over the timed steps), timed with performance.now() around GpuDataset.batch, net.gradient, ' +
  'optimizer.update, disposing the batch and flush (the one submit) — for the fused path FusedMlpStep.step and flush — with no waiting ' +
  'inside the timing; GpuContext.finish() every syncEvery steps, untimed; dispatches counted by GpuContext.dispatches; ' +
  'the dispatch trace off (as a context starts) but in the one case that turns it on';

/** The p-th percentile (0–100) of ascending samples, interpolated between neighbours. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const at = ((sorted.length - 1) * p) / 100;
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

export function hostSummary(samples: readonly number[]): HostSummary {
  const s = [...samples].sort((a, b) => a - b);
  return {
    median: sig(percentile(s, 50), 3),
    p10: sig(percentile(s, 10), 3),
    p90: sig(percentile(s, 90), 3),
    min: sig(s[0] ?? NaN, 3),
    max: sig(s.at(-1) ?? NaN, 3),
    n: s.length,
  };
}

/** One training step as a user's loop records it, and what to do after the last one. */
export interface UserStep {
  step(indices: Uint32Array): void;
  /** The fused path puts its packed weights back into the net and frees its buffers. */
  done(): void;
}

/**
 * A step of `path` on `net`: layer by layer, GpuDataset.batch, net.gradient, the optimizer's
 * update, disposing the batch, then `flush`; fused, FusedMlpStep.step then `flush`. A string:
 * planFusedStep's reason the net has no fused step.
 */
export function userStep(
  gpu: GpuBackend,
  train: GpuDataset,
  net: Sequential<GpuTensor>,
  optimizer: StatefulOptimizer<GpuTensor>,
  path: 'layers' | 'fused',
  batch: number,
  flush: () => void,
): UserStep | string {
  if (path === 'fused') {
    const fused = planFusedStep(net, optimizer, train, batch);
    if (typeof fused === 'string') return fused;
    fused.load();
    return {
      step: (indices) => {
        fused.step(indices);
        flush();
      },
      done: () => {
        fused.store();
        fused.dispose();
      },
    };
  }
  const params = net.params();
  return {
    step: (indices) => {
      const { x, t } = train.batch(indices);
      net.gradient(x, t);
      optimizer.update(params);
      gpu.dispose(x, t);
      flush();
    },
    done: () => {},
  };
}

type Case = Pick<HostTimeEntry, 'name' | 'net' | 'path' | 'optimizer' | 'batch' | 'tracing' | 'perSubmit'> & { warmup: number; steps: number };

/** One case's steps on `gpu`: warm-up (each waited for), then the timed steps. */
async function timeCase(gpu: GpuBackend, train: GpuDataset, c: Case, plan: HostTimePlan, seed: number): Promise<HostTimeEntry> {
  const ctx = gpu.ctx;
  const net: Sequential<GpuTensor> =
    c.net === 'two-layer' ? new TwoLayerNet(gpu, train.features, 50, 10, 0.01, seed) : new SimpleConvNet(gpu, { seed });
  const optimizer: StatefulOptimizer<GpuTensor> = c.optimizer === 'SGD' ? new SGD(gpu, 0.1) : new Adam(gpu, 0.001);
  const base = { name: c.name, net: c.net, path: c.path, optimizer: c.optimizer, batch: c.batch, tracing: c.tracing, perSubmit: c.perSubmit };
  let recorded = 0;
  // One submit per `perSubmit` steps, as the Trainer makes them.
  const flush = () => {
    recorded += 1;
    if (recorded % c.perSubmit === 0) gpu.flush();
  };
  const user = userStep(gpu, train, net, optimizer, c.path, c.batch, flush);
  if (typeof user === 'string') {
    optimizer.dispose();
    net.dispose();
    return { ...base, skipped: user };
  }
  const { step, done } = user;
  const batches = batchSchedule(seed, train.count, c.batch, c.warmup + c.steps);
  const tracing = ctx.tracing;
  try {
    for (let i = 0; i < c.warmup; i++) {
      step(batches[i]!);
      await ctx.finish();
    }
    ctx.tracing = c.tracing;
    // Submit groups count from the first timed step (each warm-up step was waited for).
    recorded = 0;
    const us: number[] = [];
    const dispatches = ctx.dispatches;
    const submits = ctx.submits;
    let traced = 0;
    for (let i = 0; i < c.steps; i++) {
      const indices = batches[c.warmup + i]!;
      const t0 = performance.now();
      step(indices);
      us.push((performance.now() - t0) * 1000);
      traced = ctx.lastTrace.length;
      // finish() submits nothing when nothing is recorded, so it adds no submit to the count.
      if ((i + 1) % plan.syncEvery === 0 || i === c.steps - 1) await ctx.finish();
    }
    const dispatchesPerStep = (ctx.dispatches - dispatches) / c.steps;
    const summary = hostSummary(us);
    return {
      ...base,
      dispatchesPerStep,
      ...(c.tracing ? { tracedDispatches: traced } : {}),
      submitsPerStep: (ctx.submits - submits) / c.steps,
      us: summary,
      usPerDispatch: sig(summary.median / dispatchesPerStep, 3),
    };
  } finally {
    ctx.tracing = tracing;
    done();
    optimizer.dispose();
    net.dispose();
    ctx.submit();
  }
}

/**
 * The seed's TwoLayerNet (784-50-10, batch 100) layer by layer with SGD and with Adam, SGD again
 * with the dispatch trace on (what the demo's trace panel costs), both optimizers on the fused
 * path, and SimpleConvNet with Adam.
 */
export async function hostTimeBench(gpu: GpuBackend, mnist: Mnist, plan: HostTimePlan, seed: number, progress: (line: string) => void): Promise<HostTimeResult> {
  const train = new GpuDataset(gpu, mnist.train);
  const mlp = { net: 'two-layer', batch: 100, warmup: plan.warmup, steps: plan.mlpSteps, tracing: false, perSubmit: 1 } as const;
  const cases: Case[] = [
    { ...mlp, name: 'TwoLayerNet 784-50-10, SGD', path: 'layers', optimizer: 'SGD' },
    { ...mlp, name: 'TwoLayerNet 784-50-10, Adam', path: 'layers', optimizer: 'Adam' },
    { ...mlp, name: 'TwoLayerNet 784-50-10, SGD, trace on', path: 'layers', optimizer: 'SGD', tracing: true },
    { ...mlp, name: 'TwoLayerNet 784-50-10, SGD, fused', path: 'fused', optimizer: 'SGD' },
    { ...mlp, name: 'TwoLayerNet 784-50-10, Adam, fused', path: 'fused', optimizer: 'Adam' },
    { ...mlp, name: 'TwoLayerNet 784-50-10, SGD, fused, 10 steps a submit', path: 'fused', optimizer: 'SGD', perSubmit: 10 },
    { ...mlp, name: 'TwoLayerNet 784-50-10, Adam, fused, 10 steps a submit', path: 'fused', optimizer: 'Adam', perSubmit: 10 },
    { name: 'SimpleConvNet, Adam', net: 'simple-conv', path: 'layers', optimizer: 'Adam', batch: plan.convBatch, warmup: plan.convWarmup, steps: plan.convSteps, tracing: false, perSubmit: 1 },
  ];
  const entries: HostTimeEntry[] = [];
  try {
    for (const c of cases) {
      const e = await timeCase(gpu, train, c, plan, seed);
      progress(
        e.skipped
          ? `host time: ${e.name}: skipped (${e.skipped})`
          : `host time: ${e.name}, batch ${e.batch}: ${e.us!.median} µs a step (p10 ${e.us!.p10}, p90 ${e.us!.p90}), ${e.dispatchesPerStep} dispatches, ${e.usPerDispatch} µs each`,
      );
      entries.push(e);
    }
  } finally {
    train.dispose();
  }
  return { how: HOW, plan, entries };
}
