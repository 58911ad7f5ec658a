/**
 * Draw a digit: the pad, the 28×28 image the net gets after MNIST-style preprocessing (or
 * without the centring, to see how each net copes with an off-centre digit), and the net's class
 * probabilities, updated as the pen moves and as the net trains. For a convnet the same forward
 * pass also gives the feature maps of the drawing, which the feature-maps panel draws.
 */
import type { App } from '../app/app.js';
import { byId, percent } from '../app/dom.js';
import { LatestOnly } from '../app/latest-only.js';
import { DrawPad } from '../draw/draw-pad.js';
import { toMnistInput } from '../draw/mnist-preprocess.js';
import { featureMaps } from '../engine/feature-maps.js';
import { firstConvStages } from '../engine/nets.js';
import { argmaxRow, classify } from '../engine/predict.js';
import { grayscale, paint } from '../ui/pixels.js';
import { renderProbBars } from '../ui/prob-bars.js';
import type { FeatureMapsPanel } from './feature-maps-panel.js';

export interface DrawPrediction {
  /** Counts drawings: a prediction belongs to the drawing with the same number. */
  drawing: number;
  digit: number;
  probs: Float32Array;
  /** Which net answered ('mlp', 'simple-conv'). */
  net: string;
}

const SEEN_CAPTION = {
  centred: 'what the net sees: 28×28, centred like MNIST',
  asDrawn: 'what the net sees: 28×28, scaled like MNIST but left where you drew it',
};

export class DrawPanel {
  readonly pad: DrawPad;
  private readonly centreSwitch = byId('centre-switch', HTMLInputElement);
  private ink: { ink: Float32Array; width: number; height: number } | undefined;
  private input: Float32Array | null = null;
  private drawing = 0;
  last: DrawPrediction | undefined;
  private readonly predict: LatestOnly<number>;

  constructor(
    private readonly app: App,
    private readonly maps: FeatureMapsPanel,
  ) {
    this.predict = new LatestOnly((drawing) => this.classify(drawing), (e) => app.fail(e));
    this.pad = new DrawPad(byId('draw-pad-host'), (ink, w, h) => this.onInk(ink, w, h));
    byId('clear-button').addEventListener('click', () => this.pad.clear());
    // The same ink, prepared the other way: a new input for the net, so a new drawing number.
    this.centreSwitch.addEventListener('change', () => {
      if (this.ink) this.onInk(this.ink.ink, this.ink.width, this.ink.height);
      else this.showCaption();
    });
    app.events.on('refresh', () => {
      if (this.input) this.predict.request(this.drawing);
    });
    this.showCaption();
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

  /** The 784 values the net gets for the current drawing (null when the pad is blank). */
  get seen(): Float32Array | null {
    return this.input;
  }

  get centred(): boolean {
    return this.centreSwitch.checked;
  }

  private showCaption(): void {
    byId('seen-caption').textContent = this.centred ? SEEN_CAPTION.centred : SEEN_CAPTION.asDrawn;
  }

  private onInk(ink: Float32Array, width: number, height: number): void {
    this.ink = { ink, width, height };
    this.input = toMnistInput(ink, width, height, { centre: this.centred });
    this.drawing += 1;
    this.showCaption();
    paint(byId('seen-canvas', HTMLCanvasElement), this.input ?? new Float32Array(784), 28, 28, grayscale);
    if (!this.input) {
      this.last = undefined;
      this.maps.clear();
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
    const session = this.app.session;
    const net = session.net;
    // A convnet: the prediction and the feature maps from one forward pass.
    const result = await this.app.netWork.run(async () =>
      firstConvStages(net) ? await featureMaps(net, input) : { probs: await classify(net, input, 1), stages: undefined },
    );
    if (drawing !== this.drawing || session !== this.app.session) return; // a newer drawing or net is queued
    const { probs } = result;
    const digit = argmaxRow(probs, 0);
    this.last = { drawing, digit, probs, net: session.settings.net };
    if (result.stages) this.maps.show(drawing, { ...result, stages: result.stages });
    renderProbBars(byId('draw-probs'), probs);
    const verdict = byId('draw-verdict');
    verdict.textContent = `The net says ${digit} (${percent(probs[digit]!)}).`;
    verdict.dataset.digit = String(digit);
  }
}
