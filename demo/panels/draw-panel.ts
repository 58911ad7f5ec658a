/**
 * Draw a digit: the pad, the 28×28 image the net gets after MNIST-style preprocessing, and the
 * net's class probabilities, updated as the pen moves and as the net trains.
 */
import type { App } from '../app/app.js';
import { byId, percent } from '../app/dom.js';
import { LatestOnly } from '../app/latest-only.js';
import { DrawPad } from '../draw/draw-pad.js';
import { toMnistInput } from '../draw/mnist-preprocess.js';
import { argmaxRow, classify } from '../engine/predict.js';
import { grayscale, paint } from '../ui/pixels.js';
import { renderProbBars } from '../ui/prob-bars.js';

export interface DrawPrediction {
  /** Counts drawings: a prediction belongs to the drawing with the same number. */
  drawing: number;
  digit: number;
  probs: Float32Array;
}

export class DrawPanel {
  readonly pad: DrawPad;
  private input: Float32Array | null = null;
  private drawing = 0;
  last: DrawPrediction | undefined;
  private readonly predict: LatestOnly<number>;

  constructor(private readonly app: App) {
    this.predict = new LatestOnly((drawing) => this.classify(drawing), (e) => app.fail(e));
    this.pad = new DrawPad(byId('draw-pad-host'), (ink, w, h) => this.onInk(ink, w, h));
    byId('clear-button').addEventListener('click', () => this.pad.clear());
    app.events.on('refresh', () => {
      if (this.input) this.predict.request(this.drawing);
    });
  }

  /** Paints a test image over the pad, as if the user had drawn it there. */
  drawTestImage(index: number): number {
    const pixels = this.app.devices.mnist.test.pixels.subarray(index * 784, (index + 1) * 784);
    this.pad.paintImage(pixels);
    return this.drawing;
  }

  get drawingNumber(): number {
    return this.drawing;
  }

  private onInk(ink: Float32Array, width: number, height: number): void {
    this.input = toMnistInput(ink, width, height);
    this.drawing += 1;
    paint(byId('seen-canvas', HTMLCanvasElement), this.input ?? new Float32Array(784), 28, 28, grayscale);
    if (!this.input) {
      this.last = undefined;
      renderProbBars(byId('draw-probs'), undefined);
      byId('draw-verdict').textContent = 'Draw a digit from 0 to 9 in the black square.';
      return;
    }
    this.app.select({ kind: 'drawing', input: this.input });
    this.predict.request(this.drawing);
  }

  private async classify(drawing: number): Promise<void> {
    const input = this.input;
    if (!input) return;
    const probs = await this.app.netWork.run(() => classify(this.app.session.net, input, 1));
    if (drawing !== this.drawing) return; // a newer drawing is queued
    const digit = argmaxRow(probs, 0);
    this.last = { drawing, digit, probs };
    renderProbBars(byId('draw-probs'), probs);
    const verdict = byId('draw-verdict');
    verdict.textContent = `The net says ${digit} (${percent(probs[digit]!)}).`;
    verdict.dataset.digit = String(digit);
  }
}
