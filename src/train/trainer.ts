import type { Backend } from '../backend/backend.js';
import type { Dataset } from '../data/dataset.js';
import { Rng, sampleIndices } from '../data/rng.js';
import type { NamedTensor, Param } from '../nn/layer.js';
import { readTensors } from '../nn/model-file.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkLearning, type LearningProblem } from './learning-check.js';
import { usualLr, type Optimizer, type OptimizerState, type StatefulOptimizer } from './optimizer.js';
import { GpuBackend } from '../backend/gpu-backend.js';
import { planFusedStep, type FusedMlpStep } from './mlp-step.js';
import { NO_TRACER, type StepTracer } from './step-tracer.js';

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

/** How long and how a run trains, and how often it reads back, evaluates and checkpoints. */
export interface TrainConfig {
  /** The step to stop before (a resumed run counts from its first step, not from 0). */
  steps: number;
  batchSize: number;
  seed: number;
  /**
   * Steps between loss readbacks: the GPU files each step's loss and is read only this often.
   * With `readSeconds`, the most steps one readback waits for.
   */
  readEvery: number;
  /**
   * Run each step as the fused kernels (src/train/mlp-step.ts: a fully connected net's whole
   * step in two dispatches) instead of layer by layer: true demands it (an error says why a net
   * cannot), false never; by default wherever the net allows and the GPU backend's kernel
   * choices say it is faster (`kernels.fusedStep`).
   */
  fused?: boolean;
  /**
   * Steps recorded into one submit (default 1). A submit costs the host time of its own, and
   * the GPU idles while the next one is recorded; more steps per submit amortize both. The
   * losses, windows, checkpoints and the Ctrl-C guarantees are the same for any value: a window
   * always ends with a submit, and shouldStop is still asked before every step.
   */
  stepsPerSubmit?: number;
  /**
   * Size each readback window to about this many seconds of work, from the speed measured so
   * far, starting at 5 steps: a page that draws the losses as they come wants them often on a
   * slow device, and its own readbacks (a prediction, the weights) wait behind the window in
   * flight. The losses are the same whatever the windows: each step files its own.
   */
  readSeconds?: number;
  /**
   * Steps between accuracy evaluations; the book's iter_per_epoch by default. 0 evaluates
   * nothing (for a caller that scores the net itself). A readback window ends at each one.
   */
  evalEvery?: number;
  /** Rows per evaluation chunk (default 2,000): one forward pass each, with a turn between them. */
  evalChunk?: number;
  /**
   * Steps between `onCheckpoint` calls (at the end of a readback window, once the windows before
   * it are verified), so a lost device or a crash costs at most this much work.
   */
  checkpointEvery?: number;
  /** Continue an interrupted run: its next step and the minibatch RNG's state there. */
  resume?: { step: number; rngState: number[] };
}

/** Train and test accuracy after `step` steps. */
export interface EpochResult {
  epoch: number;
  step: number;
  trainAcc: number;
  testAcc: number;
}

/** What a run did. */
export interface TrainResult {
  /** The loss of every step run, at its step's index (steps before `firstStep` stay 0). */
  losses: Float32Array;
  firstStep: number;
  /** The step the run stopped before when `shouldStop` ended it early; undefined when it finished. */
  stoppedAt: number | undefined;
  /** The minibatch RNG's state after the last step run: with the weights, all a resume needs. */
  rngState: number[];
  epochs: EpochResult[];
  /** Whether the steps ran as the fused kernels (TrainConfig.fused) rather than layer by layer. */
  fused: boolean;
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

/** What a run tells its caller, and asks it. */
export interface TrainEvents {
  /** After each loss readback: the steps done so far and the latest loss. */
  onProgress?(stepsDone: number, loss: number): void;
  /**
   * After each loss readback: the losses of steps `first` onwards (a view, valid until the run
   * ends), and the steps read per second over about the last second.
   */
  onLosses?(first: number, losses: Float32Array, stepsPerSec: number): void;
  /**
   * After each evaluation. `checkpoint` reads the weights, optimizer state and RNG state there,
   * every step before it verified: a safe point to carry the run on from elsewhere.
   */
  onEpoch?(result: EpochResult, checkpoint: () => Promise<Checkpoint | undefined>): void | Promise<void>;
  /** Weights, optimizer state and RNG state after `step` steps: everything a resume needs. */
  onCheckpoint?(checkpoint: Checkpoint): void | Promise<void>;
  /** Asked before each step; true ends the run there (Ctrl-C, a Pause button). */
  shouldStop?(): boolean;
  /**
   * Awaited after every step and every evaluation chunk: where a page gives itself a turn, since
   * the CPU backend computes synchronously. Without it the loop yields once per readback window.
   */
  turn?(): void | Promise<void>;
  /** Labels each step's dispatches (a dispatch trace). */
  tracer?: StepTracer;
}

/** Everything a resume needs. */
export interface Checkpoint {
  /** The next step to run. */
  step: number;
  rngState: number[];
  /** Parameter values and running statistics, in `net.tensors()` order. */
  weights: Float32Array[];
  /** The optimizer's state (velocities, moments, step count), where it keeps any. */
  optimizer?: OptimizerState;
}

/** The sets an evaluation scores: by default the ones the Trainer trains and tests on. */
export interface EvalSets<T extends Tensor> {
  train: Dataset<T>;
  test: Dataset<T>;
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

/** The first readback window when windows follow the speed: a few steps, to measure it. */
const FIRST_ADAPTIVE_WINDOW = 5;

function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * The book's training loop (train_neuralnet.py): random minibatches, gradient, update, the loss
 * of every step, train and test accuracy once per epoch. Written against the backend, so the
 * GPU run records each step into one submit and reads losses back only once per window of steps,
 * while the CPU run computes as it goes. The CLI, the demo page and the benchmarks all train
 * through it.
 */
export class Trainer<T extends Tensor> {
  private cachedParams: Param<T>[] | undefined;

  constructor(
    readonly net: Model<T>,
    readonly train: Dataset<T>,
    readonly test: Dataset<T>,
    readonly optimizer: Optimizer<T>,
    /** What evaluations score, when not the full training and test sets (a page scores subsets). */
    readonly evalSets: EvalSets<T> = { train, test },
  ) {}

  iterPerEpoch(batchSize: number): number {
    return Math.max(Math.floor(this.train.count / batchSize), 1);
  }

  /**
   * Records one training step: the minibatch of `indices`, forward and backward (the dropout
   * masks of `step`), the optimizer's update. Returns the loss, shape [], valid until the net's
   * next forward. Nothing waits for the GPU: the caller flushes when it likes (a benchmark
   * chooses when to sync).
   */
  step(step: number, indices: Uint32Array, tracer: StepTracer = NO_TRACER): T {
    const { x, t } = tracer.label('data', 'minibatch', () => this.train.batch(indices));
    const loss = this.net.gradient(x, t, step);
    this.cachedParams ??= this.net.params();
    tracer.label('update', this.optimizer.name, () => this.optimizer.update(this.cachedParams!));
    this.net.backend.dispose(x, t);
    return loss;
  }

  async run(config: TrainConfig, events: TrainEvents = {}): Promise<TrainResult> {
    const { steps, batchSize, readEvery } = config;
    if (batchSize > this.train.count) throw new RangeError(`batch size ${batchSize} is larger than the training set (${this.train.count})`);
    const be = this.net.backend;
    // What a divergence restores: the parameters and BatchNorm's running statistics.
    const state = this.net.tensors();
    const first = config.resume?.step ?? 0;
    const rng = config.resume ? Rng.fromState(config.resume.rngState) : new Rng(config.seed);
    const evalEvery = config.evalEvery ?? this.iterPerEpoch(batchSize);
    const tracer = events.tracer ?? NO_TRACER;
    const losses = new Float32Array(steps);
    const epochs: EpochResult[] = [];
    const msPerStep: number[] = [];
    const speed = new SpeedMeter();
    const start = performance.now();
    let windowStart = start;
    let windowSize = config.readSeconds ? Math.min(FIRST_ADAPTIVE_WINDOW, readEvery) : readEvery;
    let lastFinite: number | undefined;
    let pending: Promise<void> | undefined;
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
        const stepsPerSec = speed.mark(from + count);
        if (config.readSeconds) windowSize = Math.min(Math.max(Math.round(stepsPerSec * config.readSeconds), 1), readEvery);
        events.onLosses?.(from, losses.subarray(from, from + count), stepsPerSec);
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
    let stopped = false;
    const perSubmit = config.stepsPerSubmit ?? 1;
    if (!Number.isInteger(perSubmit) || perSubmit < 1) throw new RangeError(`steps per submit must be an integer >= 1, got ${perSubmit}`);
    const fused = this.fusedStep(config);
    try {
      await fused?.prepare();
      speed.restart(step);
      while (step < steps && !stopped) {
        // A window ends at each evaluation, so that accuracy is measured after exactly its step.
        const size = Math.min(windowSize, steps - step, evalEvery > 0 ? evalEvery - (step % evalEvery) : Infinity);
        const history = be.zeros([size]);
        // The fused steps work on packed copies of the weights and optimizer state, in for the
        // window and back out after it: what happens between windows sees the net's own tensors.
        fused?.load();
        let done = 0;
        while (done < size) {
          // Asked once before each step.
          if (events.shouldStop?.()) {
            stopped = true;
            break;
          }
          tracer.begin(step);
          const indices = sampleIndices(rng, this.train.count, batchSize);
          const loss = fused ? (fused.step(indices, tracer) as unknown as T) : this.step(step, indices, tracer);
          const slot = done;
          tracer.label('bookkeeping', 'loss history', () => be.storeScalar(loss, history, slot));
          // The window's last step goes out with the snapshot taken after it, in one submit.
          if (done < size - 1 && (done + 1) % perSubmit === 0) be.flush();
          tracer.end();
          step += 1;
          done += 1;
          if (events.turn) await events.turn();
        }
        fused?.store();
        if (done === 0) {
          be.dispose(history);
          break;
        }
        // At most one window in flight: the CPU records ahead of the GPU by a bounded amount.
        await settle();
        if (!events.turn) await nextTask();
        if (events.onCheckpoint && config.checkpointEvery && step - lastCheckpoint >= config.checkpointEvery) {
          const checkpoint = await this.capture(step, rng);
          if (checkpoint) {
            await events.onCheckpoint(checkpoint);
            lastCheckpoint = step;
          }
        }
        unchecked = this.snapshot(state);
        be.flush();
        pending = collect(history, step - done, done);
        // Handled when awaited; this only keeps a divergence from counting as unhandled meanwhile.
        pending.catch(() => {});
        if (done === size && evalEvery > 0 && (step % evalEvery === 0 || step === steps)) {
          await settle();
          const result = { epoch: Math.ceil(step / evalEvery), step, ...(await this.accuracies(config.evalChunk, events.turn)) };
          epochs.push(result);
          await events.onEpoch?.(result, () => this.capture(step, rng));
          windowStart = performance.now();
          speed.restart(step);
        }
      }
      await settle();
    } finally {
      fused?.dispose();
    }
    // A submit hands the fused step's buffers back to the pool for the next run.
    if (fused) be.flush();
    this.release(good);
    return {
      learning: this.learningOf(losses.subarray(first, step), batchSize, epochs.at(-1)?.testAcc),
      losses,
      epochs,
      msPerStep,
      wallMs: performance.now() - start,
      firstStep: first,
      stoppedAt: step < steps ? step : undefined,
      rngState: rng.getState(),
      fused: fused !== undefined,
    };
  }

  /** The fused step a run uses (see TrainConfig.fused), or undefined for the layer-by-layer one. */
  private fusedStep(config: TrainConfig): FusedMlpStep | undefined {
    if (config.fused === false) return undefined;
    const be = this.net.backend;
    if (config.fused === undefined && !(be instanceof GpuBackend && be.kernels.fusedStep)) return undefined;
    const plan = planFusedStep(this.net, this.optimizer, this.train, config.batchSize);
    if (typeof plan === 'string') {
      if (config.fused) throw new Error(`fused step: ${plan}`);
      return undefined;
    }
    return plan;
  }

  /**
   * Whether losses of this net and optimizer (and the final test accuracy, where there is one)
   * show a run that did not learn (src/train/learning-check.ts); a caller that trains in several
   * runs (a page that pauses) asks about all of its losses at the end.
   */
  learningOf(losses: ArrayLike<number>, batchSize: number, accuracy?: number): LearningProblem | null {
    return checkLearning({
      losses,
      batchSize,
      classes: this.net.outputSize,
      accuracy,
      lr: this.optimizer.lr,
      usualLr: usualLr(this.optimizer.name),
    });
  }

  /**
   * Weights, optimizer state and RNG after `step` steps, read now that every earlier window is
   * settled. Weights that are no longer finite are not worth keeping: undefined (the divergence
   * is reported when its window is read).
   */
  private async capture(step: number, rng: Rng): Promise<Checkpoint | undefined> {
    const weights = await readTensors(this.net);
    if (!weights.every((w) => w.every(Number.isFinite))) return undefined;
    const optimizer = 'state' in this.optimizer ? await (this.optimizer as StatefulOptimizer<T>).state() : undefined;
    return { step, rngState: rng.getState(), weights, optimizer };
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

  /** Train and test accuracy on the evaluation sets. */
  async accuracies(chunk?: number, turn?: () => void | Promise<void>): Promise<{ trainAcc: number; testAcc: number }> {
    return { trainAcc: await this.evaluate(this.evalSets.train, chunk, turn), testAcc: await this.evaluate(this.evalSets.test, chunk, turn) };
  }

  /**
   * Accuracy over a whole set with a single readback of the per-chunk counts. Chunks stay small
   * so evaluation adds little GPU memory next to the resident dataset, and a page gets a `turn`
   * between them (on the CPU each chunk is a synchronous forward pass).
   */
  async evaluate(data: Dataset<T>, chunk = 2_000, turn?: () => void | Promise<void>): Promise<number> {
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
      if (turn) await turn();
    }
    const values = await be.read(counts);
    be.dispose(counts);
    let total = 0;
    for (const v of values) total += v;
    return data.count === 0 ? 0 : total / data.count;
  }
}

/** Steps read per second over about the last second of readbacks (windows differ in size). */
class SpeedMeter {
  private marks: { time: number; steps: number }[] = [];

  /** After a pause or an evaluation: time spent not training must not count. */
  restart(steps: number): void {
    this.marks = [{ time: performance.now(), steps }];
  }

  mark(steps: number): number {
    const now = performance.now();
    this.marks.push({ time: now, steps });
    while (this.marks.length > 2 && now - this.marks[1]!.time >= 1000) this.marks.shift();
    const from = this.marks[0]!;
    return (steps - from.steps) / Math.max((now - from.time) / 1000, 1e-6);
  }
}
