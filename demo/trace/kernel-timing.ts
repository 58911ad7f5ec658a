/**
 * Time per kernel of one training step, from the CPU clock: each recorded dispatch is run again
 * `rounds` times in one submit and waited for, minus the cost of an empty submit. Timestamp
 * queries would be finer but are not offered everywhere (and are quantized in browsers); this
 * works on every adapter and is honest about being an average.
 *
 * It runs on a scratch copy of the net and optimizer: re-running the update dispatch would
 * otherwise move the real weights (and the optimizer's state). Call it only while training is stopped: the re-run dispatches write into
 * buffers the scratch step released, which nothing may take from the pool meanwhile.
 */
import { createNet, createOptimizer, MNIST_CLASSES, planFusedStep, Rng, sampleIndices, Trainer, type Dataset, type GpuBackend, type GpuTensor } from 'webgpu-backprop';
import type { DemoSettings } from '../app/settings.js';
import { yieldToBrowser } from '../app/yield.js';
import type { DispatchTagger, StepTrace } from './dispatch-tagger.js';

export interface TimedStep {
  trace: StepTrace;
  /** Milliseconds per run of each dispatch of `trace` (NaN where it could not be re-run). */
  kernelMs: number[];
  /** A whole step recorded, submitted and waited for, for comparison with the sum. */
  stepMs: number;
  rounds: number;
}

/**
 * Records one step of a scratch net, to show the dispatches of a step before training has made
 * any (or on the CPU device, which makes none).
 */
export async function traceOneStep(gpu: GpuBackend, tagger: DispatchTagger, train: Dataset<GpuTensor>, settings: DemoSettings): Promise<StepTrace> {
  const net = createNet(gpu, settings, train.sampleShape, MNIST_CLASSES);
  tagger.labelLayers(net);
  const optimizer = createOptimizer(gpu, settings.optimizer, settings.lr);
  try {
    const indices = sampleIndices(new Rng(settings.seed), train.count, settings.batch);
    tagger.begin(-1);
    new Trainer(net, train, train, optimizer).step(0, indices, tagger);
    gpu.flush();
    const trace = tagger.end();
    await gpu.ctx.finish();
    return trace;
  } finally {
    optimizer.dispose();
    net.dispose();
  }
}

/**
 * The same step as the fused kernels record it (src/train/mlp-step.ts: the whole step of a
 * fully connected net in two dispatches), on a scratch copy of the net; or why the net has no
 * fused step (a convnet, dropout, BatchNorm, weight decay).
 */
export async function traceFusedStep(gpu: GpuBackend, tagger: DispatchTagger, train: Dataset<GpuTensor>, settings: DemoSettings): Promise<StepTrace | string> {
  const net = createNet(gpu, settings, train.sampleShape, MNIST_CLASSES);
  const optimizer = createOptimizer(gpu, settings.optimizer, settings.lr);
  const fused = planFusedStep(net, optimizer, train, settings.batch);
  try {
    if (typeof fused === 'string') return fused;
    // Compiled asynchronously: a synchronous compile would freeze the page for seconds on a software adapter.
    await fused.prepare();
    const indices = sampleIndices(new Rng(settings.seed), train.count, settings.batch);
    // Copies of the weights into the packed buffer: commands, not dispatches.
    fused.load();
    tagger.begin(-1);
    fused.step(indices, tagger);
    gpu.flush();
    const trace = tagger.end();
    await gpu.ctx.finish();
    return trace;
  } finally {
    if (typeof fused !== 'string') fused.dispose();
    optimizer.dispose();
    net.dispose();
  }
}

export async function timeStepKernels(
  gpu: GpuBackend,
  tagger: DispatchTagger,
  train: Dataset<GpuTensor>,
  settings: DemoSettings,
  rounds = 10,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<TimedStep> {
  const ctx = gpu.ctx;
  const net = createNet(gpu, settings, train.sampleShape, MNIST_CLASSES);
  tagger.labelLayers(net);
  const optimizer = createOptimizer(gpu, settings.optimizer, settings.lr);
  const indices = sampleIndices(new Rng(settings.seed), train.count, settings.batch);
  const trainer = new Trainer(net, train, train, optimizer);
  const step = () => {
    trainer.step(0, indices, tagger);
    gpu.flush();
  };
  try {
    // The first step allocates; time the ones after it, as training sees them.
    step();
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) step();
    await ctx.finish();
    const stepMs = (performance.now() - t0) / rounds;

    tagger.begin(-1);
    step();
    const trace = tagger.end();
    await ctx.finish();

    const e0 = performance.now();
    for (let i = 0; i < rounds; i++) await ctx.finish();
    const emptySubmitMs = (performance.now() - e0) / rounds;

    const kernelMs: number[] = [];
    for (const [i, d] of trace.dispatches.entries()) {
      onProgress(i, trace.dispatches.length);
      if (!d.dispatch) {
        kernelMs.push(NaN);
        continue;
      }
      const k0 = performance.now();
      for (let r = 0; r < rounds; r++) tagger.dispatchUntagged(d.dispatch);
      await ctx.finish();
      kernelMs.push(Math.max(performance.now() - k0 - emptySubmitMs, 0) / rounds);
      await yieldToBrowser();
    }
    onProgress(trace.dispatches.length, trace.dispatches.length);
    return { trace, kernelMs, stepMs, rounds };
  } finally {
    optimizer.dispose();
    net.dispose();
  }
}
