import type { Dataset } from '../data/dataset.js';
import { Rng, sampleIndices } from '../data/rng.js';
import type { MultiLayerNet } from '../nn/multi-layer-net.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Optimizer } from './optimizer.js';

export interface TrainConfig {
  steps: number;
  batchSize: number;
  seed: number;
  /** Steps between loss readbacks: the GPU files each step's loss and is read only this often. */
  readEvery: number;
  /** Steps between accuracy evaluations on the full sets; the book's iter_per_epoch by default. */
  evalEvery?: number;
}

export interface EpochResult {
  epoch: number;
  step: number;
  trainAcc: number;
  testAcc: number;
}

export interface TrainResult {
  /** The loss of every step. */
  losses: Float32Array;
  epochs: EpochResult[];
  /** Per-readback-window wall time divided by its steps (work really finished). */
  msPerStep: number[];
  wallMs: number;
}

export interface TrainEvents {
  /** After each loss readback: the steps done so far and the latest loss. */
  onProgress?(stepsDone: number, loss: number): void;
  onEpoch?(result: EpochResult): void;
}

/** Training stopped because the loss stopped being a number. */
export class DivergenceError extends Error {
  override name = 'DivergenceError';
  constructor(
    readonly step: number,
    readonly lastFiniteLoss: number | undefined,
  ) {
    super(
      `training diverged: the loss is not finite at step ${step}` +
        (lastFiniteLoss === undefined ? '' : ` (last finite loss ${lastFiniteLoss.toPrecision(4)})`) +
        '; try a smaller learning rate',
    );
  }
}

/**
 * The book's training loop (train_neuralnet.py): random minibatches, gradient, update, the loss
 * of every step, train and test accuracy once per epoch. Written against the backend, so the
 * GPU run records each step into one submit and reads losses back only every `readEvery` steps,
 * while the CPU run computes as it goes.
 */
export class Trainer<T extends Tensor> {
  constructor(
    readonly net: MultiLayerNet<T>,
    readonly train: Dataset<T>,
    readonly test: Dataset<T>,
    readonly optimizer: Optimizer<T>,
  ) {}

  iterPerEpoch(batchSize: number): number {
    return Math.max(Math.floor(this.train.count / batchSize), 1);
  }

  async run(config: TrainConfig, events: TrainEvents = {}): Promise<TrainResult> {
    const { steps, batchSize, readEvery } = config;
    if (batchSize > this.train.count) throw new RangeError(`batch size ${batchSize} is larger than the training set (${this.train.count})`);
    const be = this.net.backend;
    const rng = new Rng(config.seed);
    const evalEvery = config.evalEvery ?? this.iterPerEpoch(batchSize);
    const losses = new Float32Array(steps);
    const epochs: EpochResult[] = [];
    const msPerStep: number[] = [];
    const start = performance.now();
    let windowStart = start;
    let lastFinite: number | undefined;
    let pending: Promise<void> | undefined;
    let history: T | undefined;

    // Reads one window of losses back without stalling the steps recorded after it.
    const collect = (hist: T, first: number, count: number) => {
      const read = be.read(hist);
      be.dispose(hist);
      return read.then((values) => {
        for (let i = 0; i < count; i++) {
          const loss = values[i]!;
          if (!Number.isFinite(loss)) throw new DivergenceError(first + i, lastFinite);
          losses[first + i] = loss;
          lastFinite = loss;
        }
        const now = performance.now();
        msPerStep.push((now - windowStart) / count);
        windowStart = now;
        events.onProgress?.(first + count, lastFinite!);
      });
    };

    for (let step = 0; step < steps; step++) {
      const slot = step % readEvery;
      if (slot === 0) history = be.zeros([Math.min(readEvery, steps - step)]);
      const { x, t } = this.train.batch(sampleIndices(rng, this.train.count, batchSize));
      const loss = this.net.gradient(x, t);
      this.optimizer.update(this.net.params());
      be.storeScalar(loss, history!, slot);
      be.dispose(x, t);
      be.flush();
      if (slot === history!.size - 1) {
        // At most one window in flight: the CPU records ahead of the GPU by a bounded amount.
        await pending;
        pending = collect(history!, step - slot, slot + 1);
        // Handled when awaited; this only keeps a divergence from counting as unhandled meanwhile.
        pending.catch(() => {});
      }
      if ((step + 1) % evalEvery === 0 || step + 1 === steps) {
        await pending;
        pending = undefined;
        const result = { epoch: Math.ceil((step + 1) / evalEvery), step: step + 1, ...(await this.accuracies()) };
        epochs.push(result);
        events.onEpoch?.(result);
        windowStart = performance.now();
      }
    }
    await pending;
    return { losses, epochs, msPerStep, wallMs: performance.now() - start };
  }

  async accuracies(): Promise<{ trainAcc: number; testAcc: number }> {
    return { trainAcc: await this.evaluate(this.train), testAcc: await this.evaluate(this.test) };
  }

  /**
   * Accuracy over a whole set with a single readback of the per-chunk counts. Chunks stay small
   * so evaluation adds little GPU memory next to the resident dataset.
   */
  async evaluate(data: Dataset<T>, chunk = 2_000): Promise<number> {
    const be = this.net.backend;
    const chunks = Math.ceil(data.count / chunk);
    const counts = be.zeros([Math.max(chunks, 1)]);
    for (let c = 0; c < chunks; c++) {
      const rows = Math.min(chunk, data.count - c * chunk);
      const { x, t } = data.range(c * chunk, rows);
      const correct = be.countCorrect(this.net.predict(x), t);
      be.storeScalar(correct, counts, c);
      be.dispose(x, t, correct);
      be.flush();
    }
    const values = await be.read(counts);
    be.dispose(counts);
    let total = 0;
    for (const v of values) total += v;
    return data.count === 0 ? 0 : total / data.count;
  }
}
