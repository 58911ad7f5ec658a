/**
 * The page's state: the settings, the devices, and the one training session (the net every panel
 * shows). Panels listen to its events; the controls call start / pause / reset.
 */
import { NO_TRACER, preparesFor, type Tensor } from 'webgpu-backprop';
import type { Devices } from '../engine/devices.js';
import { FirstRows } from '../engine/first-rows.js';
import type { DispatchTagger, StepTrace } from '../trace/dispatch-tagger.js';
import { TrainingSession, type EvalPoint, type LossWindow, type SessionState } from '../training/session.js';
import { Emitter } from './emitter.js';
import { Serial } from './serial.js';
import type { DemoSettings } from './settings.js';

export interface AppEvents {
  /** A fresh net is in place (page ready, reset, new settings). */
  session: TrainingSession;
  state: SessionState;
  losses: LossWindow;
  eval: EvalPoint;
  /** The dispatches of the latest GPU step (many per second: listeners throttle). */
  trace: StepTrace;
  /** The weights moved enough to redraw what shows them (throttled while training). */
  refresh: TrainingSession;
  settings: DemoSettings;
  /** Something failed that the user should see. */
  error: Error;
  /** The image the activations panel looks inside. */
  sample: Sample;
}

/** A test image by index, or the user's drawing as 784 inputs in [0, 1]. */
export type Sample = { kind: 'test'; index: number } | { kind: 'drawing'; input: Float32Array };

/** While training, panels that show the net redraw at most this often. */
const REFRESH_MS = 1500;

export class App {
  readonly events = new Emitter<AppEvents>();
  /** Panels' device work on the net, one job at a time (see Serial). */
  readonly netWork = new Serial();
  session: TrainingSession;
  sample: Sample = { kind: 'test', index: 0 };
  private lastRefresh = 0;

  constructor(
    readonly devices: Devices,
    private current: DemoSettings,
    /** Present when the page has a WebGPU device. */
    readonly tagger: DispatchTagger | null,
  ) {
    this.session = this.createSession();
    if (tagger) tagger.onStep = (trace) => this.events.emit('trace', trace);
  }

  get settings(): Readonly<DemoSettings> {
    return this.current;
  }

  /** Starts or resumes training once the panels' queued device work is done (see Serial). */
  async start(): Promise<void> {
    await this.netWork.idle();
    return this.session.run();
  }

  pause(): void {
    this.session.pause();
  }

  /** A new net with these settings (or the same ones): the previous run is discarded. */
  async reset(settings: DemoSettings = this.current): Promise<void> {
    const old = this.session;
    await old.stop();
    await this.netWork.idle();
    this.current = settings;
    this.session = this.createSession();
    old.dispose();
    this.events.emit('settings', settings);
    this.announce();
  }

  /**
   * After the GPU device is lost: the same run on the CPU device, from the last evaluation (the
   * weights, step and minibatch RNG there), so nothing but the steps since then is redone.
   */
  async continueOnCpu(): Promise<void> {
    const from = this.session.safePoint;
    await this.reset({ ...this.current, device: 'cpu' });
    if (from) {
      this.session.resumeFrom(from);
      this.announce();
      this.events.emit('losses', { first: 0, losses: from.losses, stepsPerSec: NaN });
      for (const point of from.evals) this.events.emit('eval', point);
    }
    await this.start();
  }

  select(sample: Sample): void {
    this.sample = sample;
    this.events.emit('sample', sample);
  }

  /** For failures outside the training loop (a panel's readback, a worker). */
  fail(error: unknown): void {
    this.events.emit('error', error instanceof Error ? error : new Error(String(error)));
  }

  /** Tells every panel about the session (once at startup, then after each reset). */
  announce(): void {
    this.events.emit('session', this.session);
    this.events.emit('state', this.session.state);
    this.refreshNow();
  }

  refreshNow(): void {
    this.lastRefresh = performance.now();
    this.events.emit('refresh', this.session);
  }

  private createSession(): TrainingSession {
    const s = this.current;
    const data = this.devices.on(s.device);
    const evalSets = s.evalSubset > 0
      ? { train: new FirstRows(data.train, Math.min(s.evalSubset, data.train.count)), test: new FirstRows(data.test, Math.min(s.evalSubset, data.test.count)) }
      : { train: data.train, test: data.test };
    const onGpu = s.device === 'gpu' && this.tagger;
    const session: TrainingSession = new TrainingSession<Tensor>(data, evalSets, s, {
      losses: (window) => {
        if (session !== this.session) return;
        this.events.emit('losses', window);
        if (performance.now() - this.lastRefresh > REFRESH_MS) this.refreshNow();
      },
      eval: (point) => {
        if (session !== this.session) return;
        this.events.emit('eval', point);
        this.refreshNow();
      },
      state: (state, error) => {
        if (session !== this.session) return;
        this.events.emit('state', state);
        if (error) this.events.emit('error', error);
        if (state === 'paused' || state === 'done') this.refreshNow();
      },
    }, onGpu ? this.tagger! : NO_TRACER);
    if (onGpu) this.tagger!.labelLayers(session.net);
    const gpu = this.devices.gpu;
    if (gpu && !gpu.ctx.isLost) {
      // The page compiled the MLP's pipelines while loading; a convnet's convolution and pooling
      // pipelines compile now, asynchronously, before anything of this net runs on the GPU (see
      // Serial): its training steps, or the trace panel's step of a scratch copy on the GPU.
      void this.netWork.run(() => gpu.prepare([], preparesFor(session.net.layers))).catch((e: unknown) => this.fail(e));
    }
    return session;
  }
}
