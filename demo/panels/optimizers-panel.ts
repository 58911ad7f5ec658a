/**
 * The book's optimizer comparison (ch. 6.1.8): the committed result of `npm run experiment --
 * optimizers` as loss curves, and the same comparison (same net, weights and minibatches, fewer
 * steps) run live on this page, drawn as each step's loss is read back.
 */
import { COMPARED, compareOptimizers, finalLevel, type OptimizerComparisonResult, type OptimizerCurve, type OptimizerName } from 'webgpu-backprop';
import type { App } from '../app/app.js';
import { byId, durationText, percent } from '../app/dom.js';
import type { DeviceName } from '../app/settings.js';
import { FirstRows } from '../engine/first-rows.js';
import { CurvesChart, EXPERIMENT_COLORS, type DrawnCurve } from '../ui/curves-chart.js';
import { RunControls } from '../ui/run-controls.js';

// Bundled at build time, like the benchmarks' results: every committed run, newest first.
const files = import.meta.glob<OptimizerComparisonResult>('../../docs/experiments/*-optimizers.json', { eager: true, import: 'default' });

function committedComparisons(): { name: string; result: OptimizerComparisonResult }[] {
  return Object.entries(files)
    .map(([path, result]) => ({ name: path.split('/').at(-1)!.replace(/\.json$/, ''), result }))
    .sort((a, b) => b.name.localeCompare(a.name));
}

/** The experiment's SVG smooths with a moving average of 20 steps; the page draws the same. */
const SMOOTH = 20;
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
 * on a linear axis the three fast ones end on top of each other.
 */
function lossCurves(container: HTMLElement): CurvesChart {
  return new CurvesChart(container, {
    xLabel: 'step',
    yLabel: `loss (log; moving average of ${SMOOTH})`,
    y: 'log',
    curves: COMPARED.map(([name, lr], i) => ({ label: label(name, lr), color: EXPERIMENT_COLORS[i % EXPERIMENT_COLORS.length]! })),
  });
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
  private readonly stepsInput = byId('optimizers-steps', HTMLInputElement);
  private readonly controls: RunControls;
  private readonly committedChart = lossCurves(byId('optimizers-committed'));
  private readonly liveChart = lossCurves(byId('optimizers-live'));
  private readonly committedName: string | null;
  private liveLosses: number[][] = [];

  constructor(private readonly app: App) {
    const newest = committedComparisons()[0];
    this.committedName = newest?.name ?? null;
    if (newest) this.showCommitted(newest.name, newest.result);
    else byId('optimizers-source').textContent = 'No committed result yet: run npm run experiment -- optimizers.';

    this.stepsInput.value = String(DEFAULT_STEPS);
    this.stepsInput.max = String(MAX_STEPS);
    this.controls = new RunControls(
      app,
      {
        run: byId('optimizers-run', HTMLButtonElement),
        stop: byId('optimizers-stop', HTMLButtonElement),
        device: byId('optimizers-device', HTMLSelectElement),
        status: byId('optimizers-status'),
        inputs: [this.stepsInput],
      },
      { validate: () => this.validSteps() !== null, run: (device) => this.run(device) },
    );
  }

  private showCommitted(name: string, r: OptimizerComparisonResult): void {
    this.committedChart.reset(r.steps);
    r.curves.forEach((curve, i) => curve.losses.forEach((_, step) => this.committedChart.set(i, step, smoothedAt(curve.losses, step))));
    byId('optimizers-source').textContent =
      `${r.date}: ${r.steps.toLocaleString('en')} steps each, batch ${r.batch}, on the ${r.device.toUpperCase()} device (${r.adapter}); docs/experiments/${name}.json`;
    byId('optimizers-committed-summary').textContent = summary(r.curves, Math.min(100, r.steps), 'the full test set');
  }

  /** The steps asked for, or null (and the input marked, the status saying why). */
  private validSteps(): number | null {
    const steps = Number(this.stepsInput.value);
    const valid = Number.isInteger(steps) && steps >= 1 && steps <= MAX_STEPS;
    this.stepsInput.classList.toggle('invalid', !valid);
    if (!valid) this.controls.setStatus(`steps must be a whole number from 1 to ${MAX_STEPS}`);
    return valid ? steps : null;
  }

  private async run(device: DeviceName): Promise<void> {
    const steps = this.validSteps()!;
    this.liveChart.reset(steps);
    this.liveLosses = COMPARED.map(() => []);
    byId('optimizers-live-summary').textContent = '';
    // Set when the run really starts: on the GPU it may first wait behind other panels' work.
    let t0 = performance.now();
    const data = this.app.devices.on(device);
    const test = new FirstRows(data.test, Math.min(EVAL_IMAGES, data.test.count));
    const onProgress = (name: OptimizerName, done: number, loss: number) => {
      const k = COMPARED.findIndex(([n]) => n === name);
      const raw = this.liveLosses[k]!;
      raw[done - 1] = loss;
      this.liveChart.set(k, done - 1, smoothedAt(raw, done - 1));
      const doneInAll = k * steps + done;
      const left = ((COMPARED.length * steps - doneInAll) * (performance.now() - t0)) / doneInAll;
      this.controls.setStatus(`${label(name, COMPARED[k]![1])}: step ${done} / ${steps} (optimizer ${k + 1} of ${COMPARED.length}) on the ${device.toUpperCase()}, about ${durationText(left)} left`);
    };
    // Every step's loss read back (readEvery 1), so the curves grow step by step and the
    // trainer gives the page a turn after each one.
    const curves = await this.controls.onDevice(device, () => {
      t0 = performance.now();
      return compareOptimizers(data.backend, data.train, test, steps, onProgress, { readEvery: 1, shouldStop: () => this.controls.stopRequested });
    });
    const took = durationText(performance.now() - t0);
    if (curves.length < COMPARED.length) {
      this.controls.setStatus(`Stopped after ${took}; ${curves.length} of ${COMPARED.length} optimizers finished.`);
    } else {
      this.controls.setStatus(`Done: ${steps.toLocaleString('en')} steps each on the ${device.toUpperCase()} in ${took}.`);
    }
    if (curves.length > 0) byId('optimizers-live-summary').textContent = summary(curves, Math.min(100, Math.ceil(steps / 4)), `the first ${test.count.toLocaleString('en')} test images`);
  }

  snapshot(): OptimizersSnapshot {
    return {
      committedName: this.committedName,
      committed: this.committedChart.drawn().map(summarize),
      live: this.liveChart.drawn().map(summarize),
      liveLosses: Object.fromEntries(COMPARED.map(([name], i) => [name, Array.from(this.liveLosses[i] ?? [])])),
      running: this.controls.running,
      runsStarted: this.controls.runsStarted,
      liveError: this.controls.error,
    };
  }
}

function summary(curves: readonly OptimizerCurve[], tail: number, testSet: string): string {
  const levels = curves.map((c) => `${NAMES[c.optimizer] ?? c.optimizer} ${finalLevel(c, tail).toFixed(3)}`).join(', ');
  const accuracies = curves.map((c) => percent(c.testAcc)).join(' / ');
  return `Mean loss of the last ${tail} steps: ${levels}. Test accuracy on ${testSet}: ${accuracies}.`;
}

function summarize({ label: name, values }: DrawnCurve): CurveSummary {
  const drawn = values.filter((v): v is number => v !== null);
  return { label: name, points: drawn.length, finite: drawn.every((v) => Number.isFinite(v) && v > 0), first: drawn[0] ?? null, last: drawn.at(-1) ?? null };
}
