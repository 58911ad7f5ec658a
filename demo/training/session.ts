/**
 * A training run that can pause: the Trainer's loop (the one `npm start` runs, step for step:
 * same seeded batches, same losses) with pause and resume between steps, a turn for the page
 * every few milliseconds, loss readbacks sized to about a quarter second of work, and a safe
 * point at each evaluation to carry the run on elsewhere.
 */
import {
  createNet,
  createOptimizer,
  MNIST_CLASSES,
  NO_TRACER,
  readTensors,
  Rng,
  Trainer,
  type Checkpoint,
  type EvalSets,
  type LearningProblem,
  type OptimizerState,
  type Sequential,
  type StatefulOptimizer,
  type StepTracer,
  type Tensor,
} from 'webgpu-backprop';
import { evalInterval, iterPerEpoch, type DemoSettings } from '../app/settings.js';
import { TimeSlicer } from '../app/yield.js';
import type { DeviceData } from '../engine/devices.js';

/**
 * The CLI reads losses every 50 steps; the page reads them about every WINDOW_SECONDS of work,
 * at most MAX_WINDOW steps: on a software adapter doing a few steps per second a 50-step window
 * would make every prediction the panels ask for wait ten seconds behind it.
 */
const WINDOW_SECONDS = 0.25;
const MAX_WINDOW = 50;

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

export class TrainingSession<T extends Tensor = Tensor> {
  /** The net of `settings.net`: a MultiLayerNet (TwoLayerNet by default) or SimpleConvNet. */
  readonly net: Sequential<T>;
  readonly optimizer: StatefulOptimizer<T>;
  readonly trainer: Trainer<T>;
  readonly losses: Float32Array;
  readonly evals: EvalPoint[] = [];
  /** Steps trained so far (their losses are known once `stepsRead` catches up). */
  step = 0;
  stepsRead = 0;
  state: SessionState = 'ready';
  error: Error | undefined;
  /** Set when a finished run did not learn (its loss rose, or its accuracy stayed at chance). */
  learning: LearningProblem | null = null;
  /** The minibatch RNG's state at `step`. */
  private rngState: number[];
  /** The latest checkpoint taken at an evaluation (see `safePoint`). */
  private safe: Checkpoint | undefined;
  private pauseRequested = false;
  private disposed = false;
  private running: Promise<void> | undefined;

  constructor(
    readonly data: DeviceData<T>,
    readonly evalSets: EvalSets<T>,
    readonly settings: Readonly<DemoSettings>,
    private readonly listener: SessionListener,
    readonly tracer: StepTracer = NO_TRACER,
  ) {
    this.net = createNet(data.backend, settings, data.train.sampleShape, MNIST_CLASSES);
    this.optimizer = createOptimizer(data.backend, settings.optimizer, settings.lr);
    this.trainer = new Trainer(this.net, data.train, data.test, this.optimizer, evalSets);
    this.losses = new Float32Array(settings.steps);
    this.rngState = new Rng(settings.seed).getState();
  }

  get backend() {
    return this.data.backend;
  }

  get isBusy(): boolean {
    return this.state === 'running' || this.state === 'pausing';
  }

  /** Everything needed to carry the run on elsewhere, as of the latest evaluation. */
  get safePoint(): SafePoint | undefined {
    const c = this.safe;
    if (!c) return undefined;
    return {
      step: c.step,
      rngState: c.rngState,
      weights: c.weights,
      optimizer: c.optimizer ?? { step: 0, tensors: {} },
      losses: this.losses.slice(0, c.step),
      evals: this.evals.filter((e) => e.step <= c.step),
    };
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
      await this.train();
      const done = this.step >= this.settings.steps;
      if (done) {
        this.learning = this.trainer.learningOf(this.losses, this.settings.batch, this.evals.at(-1)?.testAcc);
      }
      this.setState(done ? 'done' : 'paused');
    } catch (e) {
      if (this.disposed) return;
      this.error = e instanceof Error ? e : new Error(String(e));
      this.setState('failed', this.error);
    }
  }

  /** Stops after the step in flight. */
  pause(): void {
    if (this.state !== 'running') return;
    this.pauseRequested = true;
    this.setState('pausing');
  }

  /** Train and test accuracy now, filed as a point of the accuracy chart, and a safe point. */
  async evaluate(): Promise<EvalPoint> {
    const slicer = new TimeSlicer();
    const accuracies = await this.trainer.accuracies(this.evalChunk, () => slicer.maybeYield());
    const point = this.file(this.step, accuracies);
    this.safe = { step: this.step, rngState: this.rngState, weights: await readTensors(this.net), optimizer: await this.optimizer.state() };
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
    this.rngState = from.rngState;
    this.step = this.stepsRead = from.step;
    this.losses.set(from.losses);
    this.evals.push(...from.evals);
    this.safe = { step: from.step, rngState: from.rngState, weights: from.weights, optimizer: from.optimizer };
  }

  dispose(): void {
    this.disposed = true;
    this.pauseRequested = true;
    this.optimizer.dispose();
    this.net.dispose();
  }

  /**
   * A CPU evaluation is a synchronous forward pass per chunk: small chunks keep the page live. A
   * convnet's activations are large (2,000 images of SimpleConvNet's Conv1 output exceed a
   * 128 MiB buffer) and its CPU forward slow, so it goes in smaller chunks still.
   */
  private get evalChunk(): number {
    if (this.backend.device === 'cpu') return this.settings.net === 'mlp' ? 250 : 25;
    return this.net.evalChunk;
  }

  private async train(): Promise<void> {
    const slicer = new TimeSlicer();
    const s = this.settings;
    const result = await this.trainer.run(
      {
        steps: s.steps,
        batchSize: s.batch,
        seed: s.seed,
        readEvery: MAX_WINDOW,
        readSeconds: WINDOW_SECONDS,
        evalEvery: evalInterval(s),
        evalChunk: this.evalChunk,
        resume: { step: this.step, rngState: this.rngState },
        // The page trains layer by layer, so that the trace shows every layer's dispatches live;
        // the fused step (npm start's and the Trainer's default on a GPU) is shown beneath it.
        fused: false,
      },
      {
        onLosses: (first, losses, stepsPerSec) => {
          this.losses.set(losses, first);
          this.stepsRead = this.step = first + losses.length;
          this.listener.losses({ first, losses: this.losses.subarray(first, first + losses.length), stepsPerSec });
        },
        onEpoch: async (e, checkpoint) => {
          const point = this.file(e.step, e);
          this.safe = (await checkpoint()) ?? this.safe;
          this.listener.eval(point);
        },
        shouldStop: () => this.pauseRequested || this.disposed,
        turn: () => slicer.maybeYield(),
        tracer: this.tracer,
      },
    );
    this.step = result.stoppedAt ?? s.steps;
    this.rngState = result.rngState;
  }

  private file(step: number, accuracies: { trainAcc: number; testAcc: number }): EvalPoint {
    const point = { step, epoch: step / iterPerEpoch(this.settings), trainAcc: accuracies.trainAcc, testAcc: accuracies.testAcc };
    this.evals.push(point);
    return point;
  }

  private setState(state: SessionState, error?: Error): void {
    this.state = state;
    this.listener.state(state, error);
  }
}
