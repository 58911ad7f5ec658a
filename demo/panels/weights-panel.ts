/**
 * The first layer's weights as images: column j of W1 holds the 784 weights from each pixel to
 * hidden unit j, so drawn as 28×28 it shows the stroke pattern the unit responds to. At the
 * start they are noise (the random init); training turns them into strokes and blobs. Units
 * that the selected image leaves at zero (ReLU mask 0) are faded.
 */
import type { App } from '../app/app.js';
import { byId, el } from '../app/dom.js';
import { LatestOnly } from '../app/latest-only.js';
import type { Probe } from '../engine/probe.js';
import { isConvolutional } from '../engine/nets.js';
import { diverging, maxAbs, paint, pixelCanvas } from '../ui/pixels.js';

const MAX_UNITS = 100;

export class WeightsPanel {
  private readonly update: LatestOnly<void>;
  private canvases: HTMLCanvasElement[] = [];
  private lastProbe: Probe | undefined;

  constructor(private readonly app: App) {
    this.update = new LatestOnly(() => this.redraw(), (e) => app.fail(e));
    // A convnet's first-layer weights are its filters, which the filters panel draws.
    app.events.on('session', (s) => {
      byId('weights-block').hidden = isConvolutional(s.net);
      this.canvases = [];
      byId('weights-grid').replaceChildren();
    });
    app.events.on('refresh', () => {
      if (!isConvolutional(app.session.net)) this.update.request();
    });
  }

  /** Fades the units the probed image does not activate. */
  showActivity(probe: Probe): void {
    this.lastProbe = probe;
    const mask = probe.hidden[0]?.mask;
    this.canvases.forEach((canvas, j) => canvas.classList.toggle('inactive', !!mask && mask[j] === 0));
  }

  private async redraw(): Promise<void> {
    const session = this.app.session;
    if (isConvolutional(session.net)) return;
    const W1 = session.net.affines[0]!.W.value;
    const [inputs, units] = W1.shape as [number, number];
    const values = await this.app.netWork.run(() => session.backend.read(W1));
    if (session !== this.app.session) return;
    const shown = Math.min(units, MAX_UNITS);
    if (this.canvases.length !== shown) {
      this.canvases = Array.from({ length: shown }, (_, j) => {
        const canvas = pixelCanvas(28, 28, 2, 'pixels weight');
        canvas.title = `hidden unit ${j + 1}`;
        return canvas;
      });
      const grid = byId('weights-grid');
      grid.replaceChildren(...this.canvases);
      if (units > shown) grid.append(el('p', { class: 'hint' }, `first ${shown} of ${units} units`));
    }
    const column = new Float32Array(inputs);
    this.canvases.forEach((canvas, j) => {
      for (let i = 0; i < inputs; i++) column[i] = values[i * units + j]!;
      // Each image on its own scale: the pattern matters, and units differ in overall size.
      paint(canvas, column, 28, 28, diverging, maxAbs(column));
    });
    if (this.lastProbe) this.showActivity(this.lastProbe);
  }
}
