/**
 * A training run that can pause: the book's loop (train_neuralnet.py) as Trainer.run records it,
 * step for step (same seeded batches, same readback of losses filed on the device), with pause
 * and resume between readback windows and a turn for the page every few milliseconds.
 */
import { Rng, sampleIndices } from '../../src/data/rng.js';
import type { Dataset } from '../../src/data/dataset.js';
import { MultiLayerNet } from '../../src/nn/multi-layer-net.js';
import { readTensors } from '../../src/nn/model-file.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { checkLearning, type LearningProblem } from '../../src/train/learning-check.js';
import { createOptimizer, USUAL_LR, type OptimizerState, type StatefulOptimizer } from '../../src/train/optimizer.js';
import { DivergenceError } from '../../src/train/trainer.js';
import { evalInterval, iterPerEpoch, netConfig, type DemoSettings } from '../app/settings.js';
import { TimeSlicer } from '../app/yield.js';
import type { DeviceData } from '../engine/devices.js';
import { accuracy } from './evaluate.js';
import { NO_TRACER, recordStep, type StepTracer } from './step.js';

/**
 * Steps per loss readback adapt to the device's speed: about WINDOW_SECONDS of work each (the
 * CLI reads every 50 steps). A GPU runs the windows in order, and the page's own readbacks
 * (predictions, weights) wait behind the ones in flight, so on a software adapter doing a few
 * steps per second a 50-step window would make every prediction wait ten seconds. The losses
 * are the same whatever the window: each step files its own.
 */
const WINDOW_SECONDS = 0.25;
const MAX_WINDOW = 50;
const FIRST_WINDOW = 5;

export type SessionState = 'ready' | 'running' | 'pausing' | 'paused' | 'done' | 'failed';

export interface EvalPoint {
  step: number;
  /** Fractional epochs (step / iter_per_epoch), the x axis of the accuracy chart. */
  epoch: number;
  trainAcc: number;
  testAcc: number;
}

export interface LossWindow {
  /** Index of the first step in `losses`. */
  first: number;
  losses: Float32Array;
  /** Steps finished (read back) per second, over about the last second. */
  stepsPerSec: number;
}

export interface SessionListener {
  losses(window: LossWindow): void;
  eval(point: EvalPoint): void;
  state(state: SessionState, error?: Error): void;
}

/**
 * Everything needed to carry a run on elsewhere: taken at each evaluation, when the device has
 * finished every recorded step. A lost GPU device loses at most the steps since then.
 */
export interface SafePoint {
  step: number;
  rngState: number[];
  /** The net's tensors: parameters, then BatchNorm's running statistics (readTensors). */
  weights: Float32Array[];
  /** Velocities, moments and step count of a stateful optimizer (empty for SGD). */
  optimizer: OptimizerState;
  losses: Float32Array;
  evals: EvalPoint[];
}

export interface EvalSets<T extends Tensor> {
  train: Dataset<T>;
  test: Dataset<T>;
}

export class TrainingSession<T extends Tensor = Tensor> {
  readonly net: MultiLayerNet<T>;
  readonly optimizer: StatefulOptimizer<T>;
  readonly losses: Float32Array;
  readonly evals: EvalPoint[] = [];
  /** Steps recorded so far (their losses are known once `stepsRead` catches up). */
  step = 0;
  stepsRead = 0;
  state: SessionState = 'ready';
  error: Error | undefined;
  /** Set when a finished run did not learn (its loss rose, or its accuracy stayed at chance). */
  learning: LearningProblem | null = null;
  private rng: Rng;
  /** The latest SafePoint (see there). */
  safePoint: SafePoint | undefined;
  private pauseRequested = false;
  private lastFinite: number | undefined;
  private disposed = false;
  private running: Promise<void> | undefined;
  /**
   * (time, steps read) at recent readbacks. Speed is measured over the last second of them, not
   * per window: windows differ in size, and a short one right behind a long one reads back at
   * once, which would look like a burst of speed.
   */
  private speedMarks: { time: number; steps: number }[] = [];
  private windowSize = FIRST_WINDOW;

  constructor(
    readonly data: DeviceData<T>,
    readonly evalSets: EvalSets<T>,
    readonly settings: Readonly<DemoSettings>,
    private readonly listener: SessionListener,
    readonly tracer: StepTracer = NO_TRACER,
  ) {
    this.net = new MultiLayerNet(data.backend, netConfig(settings));
    this.optimizer = createOptimizer(data.backend, settings.optimizer, settings.lr);
    this.losses = new Float32Array(settings.steps);
    this.rng = new Rng(settings.seed);
  }

  get backend() {
    return this.data.backend;
  }

  get isBusy(): boolean {
    return this.state === 'running' || this.state === 'pausing';
  }

  /** Runs (or resumes) until the last step or a pause; errors end in state 'failed'. */
  run(): Promise<void> {
    if (this.isBusy || this.state === 'done' || this.state === 'failed' || this.disposed) return this.running ?? Promise.resolve();
    this.running = this.runToPause();
    return this.running;
  }

  /** Pauses and waits until the loop has let go of the device (before a reset disposes the net). */
  async stop(): Promise<void> {
    this.pause();
    await this.running;
  }

  private async runToPause(): Promise<void> {
    this.pauseRequested = false;
    this.setState('running');
    try {
      if (this.evals.length === 0) await this.evaluate();
      await this.loop();
      const done = this.step >= this.settings.steps;
      if (done) {
        this.learning = checkLearning({
          losses: this.losses,
          batchSize: this.settings.batch,
          classes: this.net.layerSizes().at(-1)!,
          accuracy: this.evals.at(-1)?.testAcc,
          lr: this.settings.lr,
          usualLr: USUAL_LR[this.settings.optimizer],
        });
      }
      this.setState(done ? 'done' : 'paused');
    } catch (e) {
      if (this.disposed) return;
      this.error = e instanceof Error ? e : new Error(String(e));
      this.setState('failed', this.error);
    }
  }

  /** Stops at the end of the current readback window (a fraction of a second away). */
  pause(): void {
    if (this.state !== 'running') return;
    this.pauseRequested = true;
    this.setState('pausing');
  }

  /** Train and test accuracy now, filed as a point of the accuracy chart. */
  async evaluate(): Promise<EvalPoint> {
    const point = {
      step: this.step,
      epoch: this.step / iterPerEpoch(this.settings),
      trainAcc: await accuracy(this.net, this.evalSets.train),
      testAcc: await accuracy(this.net, this.evalSets.test),
    };
    this.evals.push(point);
    this.safePoint = {
      step: this.step,
      rngState: this.rng.getState(),
      weights: await readTensors(this.net),
      optimizer: await this.optimizer.state(),
      losses: this.losses.slice(0, this.step),
      evals: [...this.evals],
    };
    this.listener.eval(point);
    return point;
  }

  /**
   * Continues `from` here (another device): its weights, optimizer state, step, minibatch RNG,
   * losses and chart. The dropout masks follow from the step, so they repeat too.
   */
  resumeFrom(from: SafePoint): void {
    this.net.tensors().forEach((p, i) => this.backend.write(p.value, from.weights[i]!));
    this.optimizer.loadState(from.optimizer);
    this.rng = Rng.fromState(from.rngState);
    this.step = this.stepsRead = from.step;
    this.losses.set(from.losses);
    this.evals.push(...from.evals);
    this.safePoint = from;
    this.lastFinite = from.step > 0 ? from.losses[from.step - 1] : undefined;
  }

  dispose(): void {
    this.disposed = true;
    this.pauseRequested = true;
    this.optimizer.dispose();
    this.net.dispose();
  }

  private async loop(): Promise<void> {
    const be = this.backend;
    const { steps, batch } = this.settings;
    const train = this.data.train;
    if (batch > train.count) throw new RangeError(`batch size ${batch} is larger than the training set (${train.count})`);
    const evalEvery = evalInterval(this.settings);
    const slicer = new TimeSlicer();
    let pending: Promise<void> | undefined;
    this.restartSpeedClock();

    while (this.step < steps && !this.disposed) {
      // A window ends early at an evaluation, so that accuracy is measured after exactly its step.
      const first = this.step;
      const size = Math.min(this.windowSize, steps - first, evalEvery - (first % evalEvery));
      const history = be.zeros([size]);
      for (let slot = 0; slot < size; slot++) {
        this.tracer.begin(this.step);
        const { loss, x, t } = recordStep(this.net, this.optimizer, train, sampleIndices(this.rng, train.count, batch), this.step, this.tracer);
        this.tracer.label('bookkeeping', 'loss history', () => be.storeScalar(loss, history, slot));
        be.dispose(x, t);
        be.flush();
        this.tracer.end();
        this.step += 1;
        await slicer.maybeYield();
        if (this.disposed) return;
      }
      // At most one window in flight: recording stays a bounded distance ahead of the device.
      await pending;
      pending = this.collect(history, first, size);
      pending.catch(() => {});
      if (this.step % evalEvery === 0 || this.step === steps) {
        await pending;
        pending = undefined;
        await this.evaluate();
        this.restartSpeedClock();
      }
      if (this.pauseRequested) break;
    }
    await pending;
  }

  /** Reads one window of losses back; the steps recorded after it keep the device busy meanwhile. */
  private async collect(hist: T, first: number, count: number): Promise<void> {
    const be = this.backend;
    const read = be.read(hist);
    be.dispose(hist);
    const values = await read;
    for (let i = 0; i < count; i++) {
      const loss = values[i]!;
      if (!Number.isFinite(loss)) throw new DivergenceError(first + i, this.lastFinite);
      this.losses[first + i] = loss;
      this.lastFinite = loss;
    }
    this.stepsRead = first + count;
    const stepsPerSec = this.measureSpeed();
    this.windowSize = Math.min(Math.max(Math.round(stepsPerSec * WINDOW_SECONDS), 1), MAX_WINDOW);
    this.listener.losses({ first, losses: this.losses.subarray(first, first + count), stepsPerSec });
  }

  /** After a pause or an evaluation: time spent not training must not count. */
  private restartSpeedClock(): void {
    this.speedMarks = [{ time: performance.now(), steps: this.stepsRead }];
  }

  private measureSpeed(): number {
    const now = performance.now();
    const marks = this.speedMarks;
    marks.push({ time: now, steps: this.stepsRead });
    while (marks.length > 2 && now - marks[1]!.time >= 1000) marks.shift();
    const from = marks[0]!;
    return (this.stepsRead - from.steps) / Math.max((now - from.time) / 1000, 1e-6);
  }

  private setState(state: SessionState, error?: Error): void {
    this.state = state;
    this.listener.state(state, error);
  }
}
