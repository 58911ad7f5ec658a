/**
 * One image through the net, layer by layer: its pixels, each hidden layer's pre-activation z
 * (and BatchNorm's output, where the net has it), the ReLU mask (which units let the gradient
 * through in backward) and the activation, then the class probabilities. For SimpleConvNet: the
 * feature maps after Conv1, Relu1 and Pool1, then the fully connected hidden layer's ReLU mask.
 * Follows the selected test image or the drawing.
 */
import type { App, Sample } from '../app/app.js';
import { byId, el } from '../app/dom.js';
import { LatestOnly } from '../app/latest-only.js';
import { MultiLayerNet, type NetConfig } from 'webgpu-backprop';
import { featureMaps, type FeatureMaps } from '../engine/feature-maps.js';
import { firstConvStages } from '../engine/nets.js';
import { probe, type HiddenActivity, type Probe } from '../engine/probe.js';
import { TileGrid } from '../ui/map-grid.js';
import { diverging, grayscale, maxAbs, paint, pixelCanvas, sequential } from '../ui/pixels.js';
import { renderProbBars } from '../ui/prob-bars.js';

const UNITS_PER_ROW = 25;
const CELL = 13;

export class ActivationsPanel {
  /** The latest probe, for the weights panel and the tests. */
  last: Probe | undefined;
  private readonly update: LatestOnly<void>;

  constructor(
    private readonly app: App,
    private readonly onProbe: (probe: Probe) => void,
  ) {
    this.update = new LatestOnly(() => this.recompute(), (e) => app.fail(e));
    app.events.on('refresh', () => this.update.request());
    app.events.on('sample', () => this.update.request());
  }

  private input(sample: Sample): Float32Array {
    if (sample.kind === 'drawing') return sample.input;
    const bytes = this.app.devices.mnist.test.pixels.subarray(sample.index * 784, (sample.index + 1) * 784);
    return Float32Array.from(bytes, (b) => b / 255);
  }

  private async recompute(): Promise<void> {
    const sample = this.app.sample;
    const session = this.app.session;
    const input = this.input(sample);
    const net = session.net;
    if (firstConvStages(net)) {
      const maps = await this.app.netWork.run(() => featureMaps(net, input));
      if (session !== this.app.session) return;
      this.last = undefined;
      this.renderConv(sample, input, maps);
      return;
    }
    if (!(net instanceof MultiLayerNet)) throw new Error(`activations: no view of a net like ${net.constructor.name}`);
    const result = await this.app.netWork.run(() => probe(net, input));
    if (session !== this.app.session) return;
    this.last = result;
    this.render(sample, input, result, net.config);
    this.onProbe(result);
  }

  private source(sample: Sample): number | undefined {
    const label = sample.kind === 'test' ? this.app.devices.mnist.test.labels[sample.index] : undefined;
    byId('activity-source').textContent = sample.kind === 'test' ? `test image #${sample.index} (label ${label})` : 'your drawing';
    return label;
  }

  /**
   * A convnet, layer by layer: the image, Conv1's maps, Relu1's, Pool1's (small tiles, on one
   * scale per layer), the ReLU mask of the fully connected hidden layer, the probabilities.
   */
  private renderConv(sample: Sample, input: Float32Array, maps: FeatureMaps): void {
    const label = this.source(sample);
    const image = pixelCanvas(28, 28, 3);
    paint(image, input, 28, 28, grayscale);
    const probs = el('div', { class: 'probs compact' });
    renderProbBars(probs, maps.probs, label);
    const stages = maps.stages.map((s) => {
      const grid = new TileGrid({ count: s.channels, height: s.height, width: s.width, zoom: 24 / s.width, columns: 6, title: (i) => `${s.layer}, map ${i + 1}`, className: 'maps small' });
      grid.paint(s.values, 'all');
      return el('div', { class: 'activity-step', 'data-layer': s.layer }, el('div', { class: 'caption' }, `${s.layer}: ${s.channels} × ${s.height}×${s.width}`), grid.element);
    });
    const hidden = maps.hidden.map(({ layer, mask }) => {
      const n = mask.length;
      const cols = Math.min(n, UNITS_PER_ROW);
      const canvas = pixelCanvas(cols, Math.ceil(n / cols), CELL, 'pixels units');
      paint(canvas, mask, cols, Math.ceil(n / cols), sequential, 1);
      canvas.title = 'dark: 1, the unit passes its gradient back; light: 0, it blocks it';
      const active = mask.reduce((a, v) => a + v, 0);
      return el(
        'div',
        { class: 'activity-step hidden-layer', 'data-layer': layer },
        el('div', { class: 'caption' }, `${layer} mask (${n} units after Affine1)`),
        canvas,
        el('p', { class: 'hint' }, `${active} of ${n} units fire for this image.`),
      );
    });
    byId('activity-body').replaceChildren(
      el('div', { class: 'activity-flow' },
        el('div', { class: 'activity-step' }, el('div', { class: 'caption' }, 'input x (1×28×28)'), image),
        ...stages,
        ...hidden,
        el('div', { class: 'activity-step' }, el('div', { class: 'caption' }, 'softmax output'), probs),
      ),
    );
  }

  private render(sample: Sample, input: Float32Array, result: Probe, config: NetConfig): void {
    const label = this.source(sample);
    const image = pixelCanvas(28, 28, 3);
    paint(image, input, 28, 28, grayscale);
    const probs = el('div', { class: 'probs compact' });
    renderProbBars(probs, result.probs, label);
    const layers = result.hidden.map((layer, i) => this.layerBlock(layer, i, config));
    byId('activity-body').replaceChildren(
      el('div', { class: 'activity-flow' },
        el('div', { class: 'activity-step' }, el('div', { class: 'caption' }, 'input x (784 pixels)'), image),
        ...layers,
        el('div', { class: 'activity-step' }, el('div', { class: 'caption' }, 'softmax output'), probs),
      ),
    );
  }

  private layerBlock(layer: HiddenActivity, i: number, config: NetConfig): HTMLElement {
    const n = layer.z.length;
    const cols = Math.min(n, UNITS_PER_ROW);
    const rows = Math.ceil(n / cols);
    const row = (caption: string, values: Float32Array, colormap: typeof grayscale, scale: number, title: string) => {
      const canvas = pixelCanvas(cols, rows, CELL, 'pixels units');
      paint(canvas, values, cols, rows, colormap, scale);
      canvas.title = title;
      return el('div', { class: 'unit-row' }, el('span', { class: 'caption' }, caption), canvas);
    };
    const W = `W${i + 1}`;
    const b = `b${i + 1}`;
    const blocks = [row(`z = ${i === 0 ? 'x' : `h${i}`}·${W} + ${b}`, layer.z, diverging, maxAbs(layer.z), 'pre-activation: red positive, blue negative')];
    // With BatchNorm the activation works on its output, here called a.
    const a = layer.normalized ? 'a' : 'z';
    if (layer.normalized) {
      blocks.push(row(`a = BatchNorm(z), γ${i + 1}, β${i + 1}`, layer.normalized, diverging, maxAbs(layer.normalized), "z normalized with the running mean and variance, scaled by γ and shifted by β: red positive, blue negative"));
    }
    let summary: string;
    if (config.activation === 'relu' && layer.mask) {
      const active = layer.mask.reduce((s, v) => s + v, 0);
      blocks.push(row(`ReLU mask (${a} > 0)`, layer.mask, sequential, 1, 'dark: 1, the unit passes its gradient back; light: 0, it blocks it'));
      blocks.push(row(`h${i + 1} = max(${a}, 0)`, layer.h, sequential, maxAbs(layer.h), 'activation'));
      summary = `${active} of ${n} units fire for this image. In backward, Relu multiplies the gradient by this mask: the other ${n - active} pass nothing back, so this image does not change their incoming weights.`;
    } else {
      const slope = layer.h.map((y) => y * (1 - y));
      blocks.push(row(`h${i + 1} = σ(${a})`, layer.h, sequential, 1, 'activation'));
      blocks.push(row(`σ'(${a}) = h(1 − h)`, slope, sequential, 0.25, 'what Sigmoid.backward multiplies the gradient by (at most 0.25)'));
      summary = `Sigmoid has no mask: backward multiplies the gradient by h(1 − h), at most 0.25, which is why deep sigmoid nets learn slowly.`;
    }
    if (config.dropoutRatio > 0) {
      const r = config.dropoutRatio;
      summary += ` Dropout: in a training step a random ${+(100 * r).toFixed(2)}% of these units are switched off; here, as at test time, all pass, scaled by 1 − ${r}.`;
    }
    return el(
      'div',
      { class: 'activity-step hidden-layer', 'data-layer': i + 1 },
      el('div', { class: 'caption' }, `hidden layer ${i + 1} (${n} units)`),
      ...blocks,
      el('p', { class: 'hint' }, summary),
    );
  }
}
