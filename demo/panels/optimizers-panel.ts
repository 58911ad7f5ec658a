/**
 * The book's optimizer comparison (ch. 6.1.8): the committed result of `npm run experiment --
 * optimizers` as loss curves, and the same comparison (same net, weights and minibatches, fewer
 * steps) run live on this page, drawn as each step's loss is read back.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { COMPARED, compareOptimizers, finalLevel, type OptimizerComparisonResult, type OptimizerCurve } from '../../src/experiments/optimizer-comparison.js';
import type { OptimizerName } from '../../src/train/optimizer.js';
import type { App } from '../app/app.js';
import { byId, durationText, percent } from '../app/dom.js';
import type { DeviceName } from '../app/settings.js';
import { FirstRows } from '../engine/first-rows.js';

// Bundled at build time, like the benchmarks' results: every committed run, newest first.
const files = import.meta.glob<OptimizerComparisonResult>('../../docs/experiments/*-optimizers.json', { eager: true, import: 'default' });

function committedComparisons(): { name: string; result: OptimizerComparisonResult }[] {
  return Object.entries(files)
    .map(([path, result]) => ({ name: path.split('/').at(-1)!.replace(/\.json$/, ''), result }))
    .sort((a, b) => b.name.localeCompare(a.name));
}

/** The experiment's SVG smooths with a moving average of 20 steps; the page draws the same. */
const SMOOTH = 20;
/** The experiment's SVG colours, in COMPARED order, so the page and the SVG read alike. */
const COLORS = ['#1b6ac9', '#d9480f', '#2b8a3e', '#862e9c'];
const NAMES: Partial<Record<OptimizerName, string>> = { sgd: 'SGD', momentum: 'Momentum', adagrad: 'AdaGrad', adam: 'Adam' };
const DEFAULT_STEPS = 200;
const MAX_STEPS = 2000;
/** Live runs measure test accuracy on this many images: 10,000 would hold a CPU page for seconds. */
const EVAL_IMAGES = 1000;

const label = (name: OptimizerName, lr: number) => `${NAMES[name] ?? name} (lr ${lr})`;

/** Mean of the last `n` values up to and including index `i`, fewer at the start. */
function smoothedAt(values: ArrayLike<number>, i: number, n = SMOOTH): number {
  const from = Math.max(0, i - n + 1);
  let sum = 0;
  for (let k = from; k <= i; k++) sum += values[k]!;
  return sum / (i - from + 1);
}

/**
 * Loss per step of the four optimizers on a log axis: the curves fall over two decades, and
 * on a linear axis the three fast ones end on top of each other. Redraws at most once a frame.
 */
class LossCurves {
  private readonly plot: uPlot;
  private data: (number | null)[][] = [[]];
  private dirty = false;

  constructor(container: HTMLElement) {
    this.plot = new uPlot(
      {
        width: Math.max(container.clientWidth, 200),
        height: 260,
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
        // A log scale's own range rounds out to whole decades: 2.3 would stretch the axis to 10.
        scales: { x: { time: false }, y: { distr: 3, range: (_u, min, max) => (min > 0 ? [min / 1.2, max * 1.2] : [0.01, 10]) } },
        axes: [
          { label: 'step', labelSize: 18, size: 36 },
          { label: `loss (log; moving average of ${SMOOTH})`, labelSize: 18, size: 52 },
        ],
        series: [
          { label: 'step' },
          ...COMPARED.map(([name, lr], i): uPlot.Series => ({
            label: label(name, lr),
            stroke: COLORS[i % COLORS.length],
            width: 1.5,
            spanGaps: false,
            value: (_u, v) => (v === null || v === undefined ? '–' : v.toPrecision(3)),
          })),
        ],
      },
      [[], ...COMPARED.map(() => [])],
      container,
    );
    new ResizeObserver(() => {
      const width = Math.max(container.clientWidth, 200);
      if (width !== this.plot.width) this.plot.setSize({ width, height: this.plot.height });
    }).observe(container);
  }

  /** Empty curves over steps 1..steps, filled in by `set`. */
  reset(steps: number): void {
    this.data = [Array.from({ length: steps }, (_, i) => i + 1), ...COMPARED.map(() => new Array<number | null>(steps).fill(null))];
    this.scheduleDraw();
  }

  set(series: number, step: number, value: number): void {
    this.data[series + 1]![step] = value;
    this.scheduleDraw();
  }

  /** What is drawn, per optimizer: for the test hook. */
  drawn(): { label: string; values: (number | null)[] }[] {
    return COMPARED.map(([name, lr], i) => ({ label: label(name, lr), values: Array.from(this.plot.data[i + 1] ?? [], (v) => v ?? null) }));
  }

  private scheduleDraw(): void {
    if (this.dirty) return;
    this.dirty = true;
    requestAnimationFrame(() => {
      this.dirty = false;
      this.plot.setData(this.data.map((s) => s.slice()) as uPlot.AlignedData);
    });
  }
}

export interface CurveSummary {
  label: string;
  /** Points drawn (not gaps). */
  points: number;
  /** Every drawn point a positive finite number (a log axis cannot show anything else). */
  finite: boolean;
  first: number | null;
  last: number | null;
}

export interface OptimizersSnapshot {
  /** The committed file shown, e.g. '2026-11-30-optimizers'. */
  committedName: string | null;
  committed: CurveSummary[];
  live: CurveSummary[];
  /** The raw loss of every step read back in the latest live run, by optimizer. */
  liveLosses: Record<string, number[]>;
  running: boolean;
  runsStarted: number;
  liveError: string | null;
}

export class OptimizersPanel {
  private readonly button = byId('optimizers-run', HTMLButtonElement);
  private readonly stop = byId('optimizers-stop', HTMLButtonElement);
  private readonly stepsInput = byId('optimizers-steps', HTMLInputElement);
  private readonly device = byId('optimizers-device', HTMLSelectElement);
  private readonly status = byId('optimizers-status');
  private readonly committedChart: LossCurves;
  private readonly liveChart: LossCurves;
  private readonly committedName: string | null;
  private liveLosses: number[][] = [];
  private running = false;
  private stopRequested = false;
  private runsStarted = 0;
  private liveError: string | null = null;

  constructor(private readonly app: App) {
    this.committedChart = new LossCurves(byId('optimizers-committed'));
    this.liveChart = new LossCurves(byId('optimizers-live'));
    const newest = committedComparisons()[0];
    this.committedName = newest?.name ?? null;
    if (newest) this.showCommitted(newest.name, newest.result);
    else byId('optimizers-source').textContent = 'No committed result yet: run npm run experiment -- optimizers.';

    this.stepsInput.value = String(DEFAULT_STEPS);
    this.stepsInput.max = String(MAX_STEPS);
    const gpuOption = this.device.querySelector<HTMLOptionElement>('option[value="gpu"]')!;
    gpuOption.disabled = !app.devices.hasGpu;
    // Starts on the training panel's device and follows it when that changes there.
    let trainingDevice = app.settings.device;
    this.device.value = app.devices.hasGpu ? trainingDevice : 'cpu';
    app.events.on('settings', (s) => {
      if (s.device === trainingDevice) return;
      trainingDevice = s.device;
      if (!this.running && (s.device === 'cpu' || app.devices.hasGpu)) this.device.value = s.device;
    });
    this.button.addEventListener('click', () => void this.run());
    this.stop.addEventListener('click', () => {
      this.stopRequested = true;
      this.stop.disabled = true;
    });
    app.events.on('state', () => this.renderButtons());
    this.renderButtons();
  }

  private showCommitted(name: string, r: OptimizerComparisonResult): void {
    this.committedChart.reset(r.steps);
    r.curves.forEach((curve, i) => curve.losses.forEach((_, step) => this.committedChart.set(i, step, smoothedAt(curve.losses, step))));
    byId('optimizers-source').textContent =
      `${r.date}: ${r.steps.toLocaleString('en')} steps each, batch ${r.batch}, on the ${r.device.toUpperCase()} device (${r.adapter}); docs/experiments/${name}.json`;
    byId('optimizers-committed-summary').textContent = summary(r.curves, Math.min(100, r.steps), 'the full test set');
  }

  /** A click while a run is going is ignored, as is one while training holds the machine. */
  private async run(): Promise<void> {
    if (this.running || this.app.session.isBusy) return;
    const steps = Number(this.stepsInput.value);
    if (!Number.isInteger(steps) || steps < 1 || steps > MAX_STEPS) {
      this.stepsInput.classList.add('invalid');
      this.status.textContent = `steps must be a whole number from 1 to ${MAX_STEPS}`;
      return;
    }
    this.stepsInput.classList.remove('invalid');
    const device: DeviceName = this.device.value === 'gpu' && this.app.devices.hasGpu ? 'gpu' : 'cpu';
    this.running = true;
    this.stopRequested = false;
    this.runsStarted++;
    this.liveError = null;
    this.renderButtons();
    this.liveChart.reset(steps);
    this.liveLosses = COMPARED.map(() => []);
    byId('optimizers-live-summary').textContent = '';
    // Set when the run really starts: on the GPU it may first wait behind other panels' work.
    let t0 = performance.now();
    try {
      const data = this.app.devices.on(device);
      const test = new FirstRows(data.test, Math.min(EVAL_IMAGES, data.test.count));
      const onProgress = (name: OptimizerName, done: number, loss: number) => {
        const k = COMPARED.findIndex(([n]) => n === name);
        const raw = this.liveLosses[k]!;
        raw[done - 1] = loss;
        this.liveChart.set(k, done - 1, smoothedAt(raw, done - 1));
        const doneInAll = k * steps + done;
        const left = ((COMPARED.length * steps - doneInAll) * (performance.now() - t0)) / doneInAll;
        this.status.textContent = `${label(name, COMPARED[k]![1])}: step ${done} / ${steps} (optimizer ${k + 1} of ${COMPARED.length}) on the ${device.toUpperCase()}, about ${durationText(left)} left`;
      };
      // Every step's loss read back (readEvery 1), so the curves grow step by step and the
      // trainer gives the page a turn after each one.
      const job = () => {
        t0 = performance.now();
        return compareOptimizers(data.backend, data.train, test, steps, onProgress, { readEvery: 1, skipTrainAccuracy: true, shouldStop: () => this.stopRequested });
      };
      // On the GPU the run queues with the panels' other device work, so training started
      // meanwhile waits for it instead of interleaving submits with it.
      if (device === 'gpu') this.status.textContent = 'waiting for the GPU…';
      const curves = await (device === 'gpu' ? this.app.netWork.run(job) : job());
      const took = durationText(performance.now() - t0);
      if (curves.length < COMPARED.length) {
        this.status.textContent = `Stopped after ${took}; ${curves.length} of ${COMPARED.length} optimizers finished.`;
      } else {
        this.status.textContent = `Done: ${steps.toLocaleString('en')} steps each on the ${device.toUpperCase()} in ${took}.`;
      }
      if (curves.length > 0) byId('optimizers-live-summary').textContent = summary(curves, Math.min(100, Math.ceil(steps / 4)), `the first ${test.count.toLocaleString('en')} test images`);
    } catch (e) {
      this.liveError = (e as Error).message;
      this.status.textContent = `The run failed: ${this.liveError}`;
      this.app.fail(e);
    } finally {
      this.running = false;
      this.renderButtons();
    }
  }

  private renderButtons(): void {
    const trainingBusy = this.app.session.isBusy;
    this.button.disabled = this.running || trainingBusy;
    this.button.title = trainingBusy && !this.running ? 'pause training first: both would share the machine' : '';
    this.stop.disabled = !this.running || this.stopRequested;
    this.stepsInput.disabled = this.device.disabled = this.running;
  }

  snapshot(): OptimizersSnapshot {
    return {
      committedName: this.committedName,
      committed: this.committedChart.drawn().map(summarize),
      live: this.liveChart.drawn().map(summarize),
      liveLosses: Object.fromEntries(COMPARED.map(([name], i) => [name, Array.from(this.liveLosses[i] ?? [])])),
      running: this.running,
      runsStarted: this.runsStarted,
      liveError: this.liveError,
    };
  }
}

function summary(curves: readonly OptimizerCurve[], tail: number, testSet: string): string {
  const levels = curves.map((c) => `${NAMES[c.optimizer] ?? c.optimizer} ${finalLevel(c, tail).toFixed(3)}`).join(', ');
  const accuracies = curves.map((c) => percent(c.testAcc)).join(' / ');
  return `Mean loss of the last ${tail} steps: ${levels}. Test accuracy on ${testSet}: ${accuracies}.`;
}

function summarize({ label: name, values }: { label: string; values: (number | null)[] }): CurveSummary {
  const drawn = values.filter((v): v is number => v !== null);
  return { label: name, points: drawn.length, finite: drawn.every((v) => Number.isFinite(v) && v > 0), first: drawn[0] ?? null, last: drawn.at(-1) ?? null };
}
