/** Loss per step, train/test accuracy per epoch and steps per second, as the run goes. */
import type { App } from '../app/app.js';
import { byId, percent } from '../app/dom.js';
import { CONV_EVAL_IMAGES, isConvNet, TEST_IMAGES, TRAIN_IMAGES, type DemoSettings } from '../app/settings.js';
import { LineChart } from '../ui/line-chart.js';

/** Weight of the newest loss in the smoothed line (an exponential moving average). */
const SMOOTHING = 0.05;
/** Speeds come once per readback window (a fraction of a second of steps), far fewer points than losses. */
const SPEED_SMOOTHING = 0.2;

export class ChartsPanel {
  private readonly loss = new LineChart(byId('loss-chart'), {
    xLabel: 'step',
    yLabel: 'loss',
    height: 220,
    series: [
      { label: 'loss', color: 'rgba(31, 119, 180, 0.35)', width: 1 },
      { label: 'smoothed', color: '#1f4e79', width: 2 },
    ],
  });
  private readonly accuracy = new LineChart(byId('acc-chart'), {
    xLabel: 'epoch',
    yLabel: 'accuracy',
    yRange: [0, 1],
    xFormat: (v) => (Number.isInteger(v) ? String(v) : v.toFixed(2)),
    series: [
      { label: 'train', color: '#2ca02c', points: true, format: (v) => percent(v) },
      { label: 'test', color: '#d62728', points: true, dash: [6, 3], format: (v) => percent(v) },
    ],
  });
  private readonly speed = new LineChart(byId('speed-chart'), {
    xLabel: 'step',
    yLabel: 'steps/s',
    series: [
      { label: 'last second', color: 'rgba(148, 103, 189, 0.35)', width: 1, format: (v) => v.toFixed(1) },
      { label: 'smoothed', color: '#6a3d9a', width: 2, format: (v) => v.toFixed(1) },
    ],
  });
  private smoothed = NaN;
  private smoothedSpeed = NaN;

  constructor(app: App) {
    app.events.on('session', (s) => {
      this.loss.clear();
      this.accuracy.clear();
      this.speed.clear();
      this.smoothed = NaN;
      this.smoothedSpeed = NaN;
      byId('acc-hint').textContent = accuracyScope(s.settings);
    });
    app.events.on('losses', ({ first, losses, stepsPerSec }) => {
      losses.forEach((loss, i) => {
        this.smoothed = Number.isNaN(this.smoothed) ? loss : this.smoothed + SMOOTHING * (loss - this.smoothed);
        this.loss.push(first + i + 1, loss, this.smoothed);
      });
      // A run carried over from another device replays its losses with no speed to show.
      if (!Number.isFinite(stepsPerSec)) return;
      this.smoothedSpeed = Number.isNaN(this.smoothedSpeed) ? stepsPerSec : this.smoothedSpeed + SPEED_SMOOTHING * (stepsPerSec - this.smoothedSpeed);
      this.speed.push(first + losses.length, stepsPerSec, this.smoothedSpeed);
    });
    app.events.on('eval', (p) => this.accuracy.push(p.epoch, p.trainAcc, p.testAcc));
  }
}

function accuracyScope(s: Readonly<DemoSettings>): string {
  const every = s.evalEvery > 0 ? `every ${s.evalEvery} steps` : 'once per epoch';
  if (isConvNet(s) && s.evalSubset === CONV_EVAL_IMAGES) {
    return (
      `${every}, on the first ${CONV_EVAL_IMAGES.toLocaleString('en')} train and ${CONV_EVAL_IMAGES.toLocaleString('en')} test images, ` +
      "as the book's train_convnet.py scores its convnet (a convnet's forward pass is far slower than the MLP's; evalSubset=0 in the URL scores all of them)"
    );
  }
  if (s.evalSubset > 0) {
    return `${every}, on the first ${Math.min(s.evalSubset, TRAIN_IMAGES).toLocaleString('en')} train and ${Math.min(s.evalSubset, TEST_IMAGES).toLocaleString('en')} test images (set by the URL)`;
  }
  return `${every}, on all ${TRAIN_IMAGES.toLocaleString('en')} train and ${TEST_IMAGES.toLocaleString('en')} test images`;
}
