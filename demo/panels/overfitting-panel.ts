/**
 * The book's overfitting experiment (ch. 6.4): the committed result of `npm run experiment --
 * overfitting` as train (solid) and test (dashed) accuracy per epoch for each of its three runs,
 * and the same runs (same net, weights and minibatches, fewer epochs) on this page, drawn epoch
 * by epoch.
 */
import { finalGap, OVERFIT_RUNS, OVERFIT_SETUP, overfitting, type OverfitCurve, type OverfitRun, type OverfittingResult } from 'webgpu-backprop';
import type { App } from '../app/app.js';
import { byId, durationText, percent } from '../app/dom.js';
import type { DeviceName } from '../app/settings.js';
import { FirstRows } from '../engine/first-rows.js';
import { CurvesChart, EXPERIMENT_COLORS, type DrawnCurve } from '../ui/curves-chart.js';
import { RunControls } from '../ui/run-controls.js';

// Bundled at build time, like the benchmarks' results: every committed run, newest first.
const files = import.meta.glob<OverfittingResult>('../../docs/experiments/*-overfitting.json', { eager: true, import: 'default' });

function committedRuns(): { name: string; result: OverfittingResult }[] {
  return Object.entries(files)
    .map(([path, result]) => ({ name: path.split('/').at(-1)!.replace(/\.json$/, ''), result }))
    .sort((a, b) => b.name.localeCompare(a.name));
}

const DEFAULT_EPOCHS = 60;
/** The book's longest run (its dropout experiment). */
const MAX_EPOCHS = 301;
/** Epochs whose accuracies the summaries average, as `finalGap` does by default. */
const TAIL = 10;

/** Two curves per run, train then test, as the experiment's SVG draws them. */
const CURVES = OVERFIT_RUNS.flatMap((run, i) => {
  const color = EXPERIMENT_COLORS[i % EXPERIMENT_COLORS.length]!;
  return [
    { label: `${run.name}, train`, color },
    { label: `${run.name}, test`, color, dash: [5, 3] },
  ];
});

function accuracyCurves(container: HTMLElement): CurvesChart {
  return new CurvesChart(container, { xLabel: 'epoch', yLabel: 'accuracy', y: [0, 1], curves: CURVES, format: (v) => percent(v) });
}

export interface OverfittingSnapshot {
  /** The committed file shown, e.g. '2026-11-30-overfitting'. */
  committedName: string | null;
  /** Train and test accuracy per epoch of each run, as drawn (CURVES order). */
  committed: DrawnCurve[];
  live: DrawnCurve[];
  /** Test images scored after every epoch of the latest live run, and after its last one. */
  liveTestImages: { perEpoch: number; final: number } | null;
  /** The accuracy after the last epoch of each live run that finished, on `liveTestImages.final` images. */
  liveFinalTestAcc: number[];
  running: boolean;
  runsStarted: number;
  liveError: string | null;
}

export class OverfittingPanel {
  private readonly epochsInput = byId('overfitting-epochs', HTMLInputElement);
  private readonly controls: RunControls;
  private readonly committedChart = accuracyCurves(byId('overfitting-committed'));
  private readonly liveChart = accuracyCurves(byId('overfitting-live'));
  private readonly committedName: string | null;
  private liveTestImages: OverfittingSnapshot['liveTestImages'] = null;
  private liveCurves: OverfitCurve[] = [];

  constructor(private readonly app: App) {
    const newest = committedRuns()[0];
    this.committedName = newest?.name ?? null;
    if (newest) this.showCommitted(newest.name, newest.result);
    else byId('overfitting-source').textContent = 'No committed result yet: run npm run experiment -- overfitting.';

    this.epochsInput.value = String(DEFAULT_EPOCHS);
    this.epochsInput.max = String(MAX_EPOCHS);
    this.controls = new RunControls(
      app,
      {
        run: byId('overfitting-run', HTMLButtonElement),
        stop: byId('overfitting-stop', HTMLButtonElement),
        device: byId('overfitting-device', HTMLSelectElement),
        status: byId('overfitting-status'),
        inputs: [this.epochsInput],
      },
      { validate: () => this.validEpochs() !== null, run: (device) => this.run(device) },
    );
  }

  private showCommitted(name: string, r: OverfittingResult): void {
    this.committedChart.reset(r.epochs);
    r.curves.forEach((curve, i) => {
      curve.trainAcc.forEach((acc, epoch) => this.committedChart.set(2 * i, epoch, acc));
      curve.testAcc.forEach((acc, epoch) => this.committedChart.set(2 * i + 1, epoch, acc));
    });
    byId('overfitting-source').textContent =
      `${r.date}: ${r.epochs} epochs of ${r.setup.trainImages / r.setup.batch} steps per run, on the ${r.device.toUpperCase()} device (${r.adapter}); ` +
      `test accuracy per epoch on the first ${r.setup.testImagesPerEpoch.toLocaleString('en')} test images; docs/experiments/${name}.json`;
    // The CLI scores the whole test set at the end: the same MNIST the page has loaded.
    const finalSet = `all ${this.app.devices.mnist.test.count.toLocaleString('en')} test images`;
    byId('overfitting-committed-summary').textContent = summary(r.curves, finalSet, r.setup.testImagesPerEpoch);
  }

  /** The epochs asked for, or null (and the input marked, the status saying why). */
  private validEpochs(): number | null {
    const epochs = Number(this.epochsInput.value);
    const valid = Number.isInteger(epochs) && epochs >= 1 && epochs <= MAX_EPOCHS;
    this.epochsInput.classList.toggle('invalid', !valid);
    if (!valid) this.controls.setStatus(`epochs must be a whole number from 1 to ${MAX_EPOCHS}`);
    return valid ? epochs : null;
  }

  private async run(device: DeviceName): Promise<void> {
    const epochs = this.validEpochs()!;
    this.liveChart.reset(epochs);
    this.liveCurves = [];
    byId('overfitting-live-summary').textContent = '';
    const data = this.app.devices.on(device);
    // The book's x_train[:300]: the first rows of the training set, not a sample.
    const train = new FirstRows(data.train, OVERFIT_SETUP.trainImages);
    const testPerEpoch = new FirstRows(data.test, Math.min(OVERFIT_SETUP.testImagesPerEpoch, data.test.count));
    // Scored once after each run's last epoch. The GPU scores all 10,000 without holding the
    // page; the CPU device would freeze it for seconds per run, so it scores the 1,000 again.
    const finalTest = device === 'gpu' ? data.test : testPerEpoch;
    this.liveTestImages = { perEpoch: testPerEpoch.count, final: finalTest.count };
    const runs = OVERFIT_RUNS.length;
    // Set when the run really starts: on the GPU it may first wait behind other panels' work.
    let t0 = performance.now();
    const onEpoch = (run: OverfitRun, epoch: number, trainAcc: number, testAcc: number) => {
      const k = OVERFIT_RUNS.indexOf(run);
      this.liveChart.set(2 * k, epoch - 1, trainAcc);
      this.liveChart.set(2 * k + 1, epoch - 1, testAcc);
      const doneInAll = k * epochs + epoch;
      const left = ((runs * epochs - doneInAll) * (performance.now() - t0)) / doneInAll;
      this.controls.setStatus(
        `${run.name}: epoch ${epoch} / ${epochs} (run ${k + 1} of ${runs}) on the ${device.toUpperCase()}: train ${percent(trainAcc)}, test ${percent(testAcc)}; about ${durationText(left)} left`,
      );
    };
    const curves = await this.controls.onDevice(device, () => {
      t0 = performance.now();
      return overfitting(data.backend, train, testPerEpoch, finalTest, { epochs, onEpoch, shouldStop: () => this.controls.stopRequested });
    });
    this.liveCurves = curves;
    const took = durationText(performance.now() - t0);
    if (curves.length < runs) this.controls.setStatus(`Stopped after ${took}; ${curves.length} of ${runs} runs finished.`);
    else this.controls.setStatus(`Done: ${epochs} epochs per run on the ${device.toUpperCase()} in ${took}.`);
    const finalSet = finalTest === data.test ? `all ${finalTest.count.toLocaleString('en')} test images` : `the same first ${finalTest.count.toLocaleString('en')} test images`;
    if (curves.length > 0) byId('overfitting-live-summary').textContent = summary(curves, finalSet, testPerEpoch.count);
  }

  snapshot(): OverfittingSnapshot {
    return {
      committedName: this.committedName,
      committed: this.committedChart.drawn(),
      live: this.liveChart.drawn(),
      liveTestImages: this.liveTestImages,
      liveFinalTestAcc: this.liveCurves.map((c) => c.finalTestAcc),
      running: this.controls.running,
      runsStarted: this.controls.runsStarted,
      liveError: this.controls.error,
    };
  }
}

/**
 * Train and test accuracy over the last epochs and the gap between them, per run; then each
 * run's accuracy on the set scored after its last epoch.
 */
function summary(curves: readonly OverfitCurve[], finalSet: string, perEpochTestImages: number): string {
  const tail = Math.min(TAIL, curves[0]!.trainAcc.length);
  const mean = (values: number[]) => values.slice(-tail).reduce((a, b) => a + b, 0) / tail;
  const runs = curves
    .map((c) => `${c.name}: train ${percent(mean(c.trainAcc))}, test ${percent(mean(c.testAcc))}, gap ${(100 * finalGap(c, tail)).toFixed(1)} points`)
    .join('; ');
  const finals = curves.map((c) => percent(c.finalTestAcc)).join(' / ');
  return `Last ${tail} epochs (test: the first ${perEpochTestImages.toLocaleString('en')} test images) — ${runs}. Accuracy on ${finalSet} after the last epoch: ${finals}.`;
}
