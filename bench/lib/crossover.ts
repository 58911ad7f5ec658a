import { SIMPLE_CONV_NET, type CpuBackend, type GpuBackend, type Mnist } from 'webgpu-backprop';
import { convStepFlops } from './conv-model.js';
import { batchSchedule } from './data.js';
import type { TrainingEngine } from './engine.js';
import { cpuDatasets, gpuDatasets, oursConvEngine, oursEngine } from './ours.js';
import type { Plan } from './plan.js';
import { now, sig, summarize, type Summary } from './stats.js';

export interface CrossoverTiming {
  /** ms per training step, one sample per window of `stepsPerWindow` steps synced once. */
  ms: Summary;
  stepsPerWindow: number;
  /** Only one step ran, not warmed up, because it alone took longer than the cell's step cap. */
  cold?: boolean;
  /** Not run: predicted slower than the cell's step cap (the other device then wins without a number). */
  skipped?: string;
}

export interface CrossoverCell {
  batch: number;
  /** The seed net's hidden width; SimpleConvNet's (100) in a conv cell. */
  hidden: number;
  /** 'simple-conv': the book's SimpleConvNet with Adam (the conv axis); absent: the seed's 784-hidden-10 net with SGD. */
  net?: 'simple-conv';
  cpu: CrossoverTiming;
  gpu: CrossoverTiming;
  winner: 'cpu' | 'gpu';
  /** Slower median / faster median; at least this much when the slower one was skipped. */
  factor: number;
  /** The winner's slowest sample beat the loser's fastest: not a matter of noise. */
  clear: boolean;
}

export interface CrossoverResult {
  batches: number[];
  hiddens: number[];
  /** SimpleConvNet's batch sizes (the conv axis); absent in results from before it. */
  convBatches?: number[];
  cellBudgetMs: number;
  maxStepMs: number;
  cells: CrossoverCell[];
  note: string;
}

/** Multiply-adds ×2 of one step's five products (forward, dW, dh), which dominate it. */
export function stepFlops(batch: number, hidden: number): number {
  return 2 * batch * (2 * 784 * hidden + 3 * hidden * 10);
}

/**
 * Steps in windows synced once at the end, the window sized from a warm-up step so a cell stays
 * near its budget; at least one window even when a single step is over budget.
 */
async function timeCell(engine: TrainingEngine, batches: Uint32Array[], budgetMs: number, maxStepMs: number): Promise<CrossoverTiming> {
  let next = 0;
  const step = async (count: number) => {
    const t0 = now();
    for (let i = 0; i < count; i++) engine.step(batches[next++ % batches.length]!);
    await engine.readLoss();
    return now() - t0;
  };
  const start = now();
  let estimate = await step(1); // allocates this shape's buffers
  if (estimate > maxStepMs) return { ms: summarize([estimate]), stepsPerWindow: 1, cold: true };
  if (estimate < budgetMs / 4) estimate = await step(1);
  const perWindow = Math.max(1, Math.min(100, Math.floor(budgetMs / 3 / estimate)));
  const samples: number[] = [];
  while (samples.length < 3 && (samples.length === 0 || now() - start + perWindow * estimate < budgetMs)) {
    samples.push((await step(perWindow)) / perWindow);
  }
  return { ms: summarize(samples), stepsPerWindow: perWindow };
}

/** Predicts a device's step from the best throughput it has shown so far, and skips hopeless cells. */
class Predictor {
  private best = 0; // FLOP per ms

  constructor(private readonly maxStepMs: number) {}

  skip(flops: number): string | undefined {
    const predicted = this.best > 0 ? flops / this.best : 0;
    return predicted > this.maxStepMs ? `predicted ${(predicted / 1000).toFixed(1)} s a step, over the ${(this.maxStepMs / 1000).toFixed(0)} s cap` : undefined;
  }

  learn(flops: number, t: CrossoverTiming): void {
    if (!t.skipped) this.best = Math.max(this.best, flops / t.ms.median);
  }
}

/**
 * Our CPU device against our GPU device over a grid of batch sizes and hidden widths of the seed's
 * training step, and on the conv axis SimpleConvNet's step (Adam, the book's train_convnet.py) over
 * batch sizes: where each one wins on this adapter. Both devices train the same net on the same
 * batches; each cell starts from fresh weights.
 */
export async function crossoverBench(gpu: GpuBackend, cpu: CpuBackend, mnist: Mnist, plan: Plan, progress: (line: string) => void): Promise<CrossoverResult> {
  const { batches, hiddens, convBatches, cellBudgetMs, maxStepMs } = plan.crossover;
  const gpuData = gpuDatasets(gpu, mnist);
  const cpuData = cpuDatasets(cpu, mnist);
  // The two nets' kernels run at different rates: each net predicts from its own cells.
  const predictors = () => ({ gpu: new Predictor(maxStepMs), cpu: new Predictor(maxStepMs) });
  const predictMlp = predictors();
  const predictConv = predictors();
  const cells: CrossoverCell[] = [];
  const cell = async (batch: number, hidden: number, net: CrossoverCell['net'], flops: number, predict: ReturnType<typeof predictors>, make: (device: 'gpu' | 'cpu') => TrainingEngine) => {
    const schedule = batchSchedule(plan.seed, mnist.train.count, batch, 102);
    const time = async (device: 'gpu' | 'cpu'): Promise<CrossoverTiming> => {
      const skipped = predict[device].skip(flops);
      if (skipped) return { ms: summarize([]), stepsPerWindow: 0, skipped };
      const engine = make(device);
      try {
        const t = await timeCell(engine, schedule, cellBudgetMs, maxStepMs);
        predict[device].learn(flops, t);
        return t;
      } finally {
        engine.dispose();
        if (device === 'gpu') {
          gpu.ctx.submit();
          gpu.ctx.pool.trim();
        }
      }
    };
    const g = await time('gpu');
    const c = await time('cpu');
    const msOf = (t: CrossoverTiming) => (t.skipped ? Infinity : t.ms.median);
    const winner = msOf(g) < msOf(c) ? 'gpu' : 'cpu';
    const [fast, slow] = [msOf(g), msOf(c)].sort((a, b) => a - b) as [number, number];
    // A skipped device lost by at least its cap over the winner's time.
    const factor = Number.isFinite(slow) ? slow / fast : maxStepMs / fast;
    const [won, lost] = winner === 'gpu' ? [g, c] : [c, g];
    const clear = !!lost.skipped || won.ms.max < lost.ms.min;
    cells.push({ batch, hidden, ...(net ? { net } : {}), cpu: c, gpu: g, winner, factor: sig(factor, 3), clear });
    const show = (t: CrossoverTiming) => (t.skipped ? 'skipped' : `${t.ms.median.toFixed(2)} ms`);
    progress(`crossover batch ${batch} ${net ? 'SimpleConvNet' : `hidden ${hidden}`}: cpu ${show(c)}, gpu ${show(g)} per step → ${winner}`);
  };
  try {
    for (const batch of batches) {
      for (const hidden of hiddens) {
        const spec = { hidden, lr: plan.lr, seed: plan.seed };
        await cell(batch, hidden, undefined, stepFlops(batch, hidden), predictMlp, (device) =>
          device === 'gpu' ? oursEngine('ours-gpu', gpu, gpuData, spec, '') : oursEngine('ours-cpu', cpu, cpuData, spec, ''));
      }
    }
    for (const batch of convBatches) {
      const spec = { batch, lr: plan.conv.lr, seed: plan.seed };
      await cell(batch, SIMPLE_CONV_NET.hiddenSize, 'simple-conv', convStepFlops(batch), predictConv, (device) =>
        device === 'gpu' ? oursConvEngine('ours-gpu', gpu, gpuData, spec, '') : oursConvEngine('ours-cpu', cpu, cpuData, spec, ''));
    }
  } finally {
    gpuData.train.dispose();
    gpuData.test.dispose();
  }
  return {
    batches,
    hiddens,
    convBatches,
    cellBudgetMs,
    maxStepMs,
    cells,
    note:
      `784-hidden-10 training step (forward, backward, SGD)${convBatches.length ? `, and SimpleConvNet's (Adam lr ${plan.conv.lr})` : ''}; ms/step = median over windows of steps synced once per window, ` +
      `windows sized to keep each device near ${cellBudgetMs / 1000} s per cell; a device predicted over ${maxStepMs / 1000} s a step is skipped`,
  };
}
