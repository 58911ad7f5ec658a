import type { Backend } from '../backend/backend.js';
import type { Dataset } from '../data/dataset.js';
import { Rng, sampleIndices } from '../data/rng.js';
import type { NamedTensor, Param } from '../nn/layer.js';
import { readTensors } from '../nn/model-file.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkLearning, type LearningProblem } from './learning-check.js';
import { usualLr, type Optimizer, type OptimizerState, type StatefulOptimizer } from './optimizer.js';

/** What the Trainer needs of a net: any model that computes its gradient (a Sequential, a MultiLayerNet). */
export interface Model<T extends Tensor> {
  readonly backend: Backend<T>;
  /** Forward in training mode (the dropout masks of `step`) and backward; leaves each Param's grad. Returns the loss. */
  gradient(x: T, t: T, step: number): T;
  /** What the optimizer updates. */
  params(): Param<T>[];
  /** What a checkpoint saves and a divergence restores: the parameters and any state. */
  tensors(): NamedTensor<T>[];
  /** Inference scores, for the accuracy. */
  predict(x: T): T;
  /** The number of classes: the learning check tells learning from chance accuracy (1 / classes). */
  readonly outputSize: number;
  /** Frees its tensors; for its owner to call (the net outlives a run, so the Trainer never does). */
  dispose(): void;
}

export interface TrainConfig {
  /** The step to stop before (a resumed run counts from its first step, not from 0). */
  steps: number;
  batchSize: number;
  seed: number;
  /** Steps between loss readbacks: the GPU files each step's loss and is read only this often. */
  readEvery: number;
  /**
   * Steps between accuracy evaluations on the full sets; the book's iter_per_epoch by default.
   * 0 evaluates nothing (for a caller that scores the net itself).
   */
  evalEvery?: number;
  /**
   * Steps between `onCheckpoint` calls (at the end of a readback window, once the windows before
   * it are verified), so a lost device or a crash costs at most this much work.
   */
  checkpointEvery?: number;
  /** Continue an interrupted run: its next step and the minibatch RNG's state there. */
  resume?: { step: number; rngState: number[] };
}

export interface EpochResult {
  epoch: number;
  step: number;
  trainAcc: number;
  testAcc: number;
}

export interface TrainResult {
  /** The loss of every step run, at its step's index (steps before `firstStep` stay 0). */
  losses: Float32Array;
  firstStep: number;
  /** The step the run stopped before when `shouldStop` ended it early; undefined when it finished. */
  stoppedAt: number | undefined;
  /** The minibatch RNG's state after the last step run: with the weights, all a resume needs. */
  rngState: number[];
  epochs: EpochResult[];
  /** Per-readback-window wall time divided by its steps (work really finished). */
  msPerStep: number[];
  wallMs: number;
  /**
   * Why the run did not learn although its loss stayed finite (the loss ended well above its
   * start, or the accuracy at chance), with the likely cause; null when it learned or was too
   * short to tell (src/train/learning-check.ts).
   */
  learning: LearningProblem | null;
}

export interface TrainEvents {
  /** After each loss readback: the steps done so far and the latest loss. */
  onProgress?(stepsDone: number, loss: number): void;
  onEpoch?(result: EpochResult): void;
  /** Weights, optimizer state and RNG state after `step` steps: everything a resume needs. */
  onCheckpoint?(checkpoint: Checkpoint): void | Promise<void>;
  /** Asked before each step; true ends the run there (Ctrl-C, a Pause button). */
  shouldStop?(): boolean;
}

export interface Checkpoint {
  /** The next step to run. */
  step: number;
  rngState: number[];
  /** Parameter values and running statistics, in `net.tensors()` order. */
  weights: Float32Array[];
  /** The optimizer's state (velocities, moments, step count), where it keeps any. */
  optimizer?: OptimizerState;
}

/**
 * Training stopped because the loss stopped being a number. The net's weights are those after
 * the last window of steps whose losses were all finite.
 */
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
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export class Trainer<T extends Tensor> {
  constructor(
    readonly net: Model<T>,
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
    const params = this.net.params();
    // What a divergence restores: the parameters and BatchNorm's running statistics.
    const state = this.net.tensors();
    const first = config.resume?.step ?? 0;
    const rng = config.resume ? Rng.fromState(config.resume.rngState) : new Rng(config.seed);
    const evalEvery = config.evalEvery ?? this.iterPerEpoch(batchSize);
    const losses = new Float32Array(steps);
    const epochs: EpochResult[] = [];
    const msPerStep: number[] = [];
    const start = performance.now();
    let windowStart = start;
    let lastFinite: number | undefined;
    let pending: Promise<void> | undefined;
    let history: T | undefined;
    // Weights known to be good (all losses up to them finite), and the ones taken at the end of
    // the window whose losses are still being read: a divergence restores the former.
    let good = this.snapshot(state);
    let unchecked: T[] | undefined;
    let lastCheckpoint = first;

    // Reads one window of losses back without stalling the steps recorded after it.
    const collect = (hist: T, from: number, count: number) => {
      const read = be.read(hist);
      be.dispose(hist);
      return read.then((values) => {
        for (let i = 0; i < count; i++) {
          const loss = values[i]!;
          if (!Number.isFinite(loss)) throw new DivergenceError(from + i, lastFinite);
          losses[from + i] = loss;
          lastFinite = loss;
        }
        const now = performance.now();
        msPerStep.push((now - windowStart) / count);
        windowStart = now;
        events.onProgress?.(from + count, lastFinite!);
      });
    };
    // Waits for the window in flight; on divergence puts the last good weights back.
    const settle = async () => {
      try {
        await pending;
      } catch (e) {
        if (e instanceof DivergenceError) this.restore(state, good);
        this.release(good, unchecked);
        throw e;
      } finally {
        pending = undefined;
      }
      if (unchecked) {
        be.dispose(...good);
        good = unchecked;
        unchecked = undefined;
      }
    };

    let step = first;
    for (; step < steps; step++) {
      if (events.shouldStop?.()) break;
      const slot = (step - first) % readEvery;
      if (slot === 0) history = be.zeros([Math.min(readEvery, steps - step)]);
      const { x, t } = this.train.batch(sampleIndices(rng, this.train.count, batchSize));
      const loss = this.net.gradient(x, t, step);
      this.optimizer.update(params);
      be.storeScalar(loss, history!, slot);
      be.dispose(x, t);
      if (slot === history!.size - 1) {
        // At most one window in flight: the CPU records ahead of the GPU by a bounded amount.
        await settle();
        // The CPU backend never really waits; give timers, signals and a page's events a turn.
        await nextTask();
        if (events.onCheckpoint && config.checkpointEvery && step + 1 - lastCheckpoint >= config.checkpointEvery) {
          if (await this.checkpoint(step + 1, rng, events.onCheckpoint)) lastCheckpoint = step + 1;
        }
        unchecked = this.snapshot(state);
        be.flush();
        pending = collect(history!, step - slot, slot + 1);
        // Handled when awaited; this only keeps a divergence from counting as unhandled meanwhile.
        pending.catch(() => {});
      } else {
        be.flush();
      }
      if (evalEvery > 0 && ((step + 1) % evalEvery === 0 || step + 1 === steps)) {
        await settle();
        const result = { epoch: Math.ceil((step + 1) / evalEvery), step: step + 1, ...(await this.accuracies()) };
        epochs.push(result);
        events.onEpoch?.(result);
        windowStart = performance.now();
      }
    }
    if (step < steps && history && (step - first) % readEvery !== 0) {
      // Stopped mid-window: read the partial window so no step's loss is lost.
      await settle();
      const done = (step - first) % readEvery;
      pending = collect(history, step - done, done);
    }
    await settle();
    this.release(good);
    const last = step < steps ? step : steps;
    return {
      learning: checkLearning({
        losses: losses.subarray(first, last),
        batchSize,
        classes: this.net.outputSize,
        accuracy: epochs.at(-1)?.testAcc,
        lr: this.optimizer.lr,
        usualLr: usualLr(this.optimizer.name),
      }),
      losses,
      epochs,
      msPerStep,
      wallMs: performance.now() - start,
      firstStep: first,
      stoppedAt: step < steps ? step : undefined,
      rngState: rng.getState(),
    };
  }

  /**
   * Weights, optimizer state and RNG after `step` steps, read now that every earlier window is
   * settled. Weights that are no longer finite are not worth keeping: returns false and writes
   * nothing (the divergence is reported when its window is read).
   */
  private async checkpoint(step: number, rng: Rng, write: NonNullable<TrainEvents['onCheckpoint']>): Promise<boolean> {
    const be = this.net.backend;
    const weights = await readTensors(this.net);
    if (!weights.every((w) => w.every(Number.isFinite))) return false;
    const optimizer = 'state' in this.optimizer ? await (this.optimizer as StatefulOptimizer<T>).state() : undefined;
    await write({ step, rngState: rng.getState(), weights, optimizer });
    return true;
  }

  private snapshot(params: readonly NamedTensor<T>[]): T[] {
    const be = this.net.backend;
    return params.map((p) => {
      const copy = be.zeros(p.value.shape);
      be.copy(p.value, copy);
      return copy;
    });
  }

  private restore(params: readonly NamedTensor<T>[], saved: readonly T[]): void {
    params.forEach((p, i) => this.net.backend.copy(saved[i]!, p.value));
    this.net.backend.flush();
  }

  private release(...sets: (T[] | undefined)[]): void {
    for (const set of sets) if (set) this.net.backend.dispose(...set);
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
