/**
 * A strip of test images with the net's current prediction under each, mistakes marked, or only
 * the mistakes among the first test images. Clicking an image looks inside the net with it.
 */
import type { App } from '../app/app.js';
import { byId, el, percent } from '../app/dom.js';
import { LatestOnly } from '../app/latest-only.js';
import { argmaxRow, classifyRange } from '../engine/predict.js';
import { grayscale, paint, pixelCanvas } from '../ui/pixels.js';

const SHOWN = 20;
/** How many test images "only mistakes" searches. */
const SCAN = 1000;

export interface StripItem {
  index: number;
  label: number;
  predicted: number;
  confidence: number;
}

export class TestStrip {
  private offset = 0;
  private mistakesOnly = false;
  items: StripItem[] = [];
  /** Bumped after each redraw (the tests wait on it). */
  version = 0;
  private readonly update: LatestOnly<void>;

  constructor(private readonly app: App) {
    this.update = new LatestOnly(() => this.recompute(), (e) => app.fail(e));
    byId('strip-prev').addEventListener('click', () => this.move(-SHOWN));
    byId('strip-next').addEventListener('click', () => this.move(SHOWN));
    byId('strip-mistakes', HTMLInputElement).addEventListener('change', (e) => {
      this.mistakesOnly = (e.target as HTMLInputElement).checked;
      this.offset = 0;
      this.update.request();
    });
    app.events.on('refresh', () => this.update.request());
    app.events.on('sample', () => this.markSelected());
  }

  private move(delta: number): void {
    const limit = this.mistakesOnly ? SCAN : this.app.devices.mnist.test.count;
    this.offset = Math.min(Math.max(this.offset + delta, 0), Math.max(limit - SHOWN, 0));
    this.update.request();
  }

  private async recompute(): Promise<void> {
    const test = this.app.devices.mnist.test;
    const session = this.app.session;
    const start = this.mistakesOnly ? 0 : this.offset;
    const count = this.mistakesOnly ? Math.min(SCAN, test.count) : Math.min(SHOWN, test.count - start);
    const probs = await this.app.netWork.run(() => classifyRange(session.net, session.data.test, start, count));
    if (session !== this.app.session) return;
    const all: StripItem[] = [];
    for (let r = 0; r < count; r++) {
      const predicted = argmaxRow(probs, r);
      all.push({ index: start + r, label: test.labels[start + r]!, predicted, confidence: probs[r * 10 + predicted]! });
    }
    const mistakes = all.filter((item) => item.predicted !== item.label);
    this.items = this.mistakesOnly ? mistakes.slice(this.offset, this.offset + SHOWN) : all;
    byId('strip-range').textContent = this.mistakesOnly
      ? `${mistakes.length} mistakes in the first ${count.toLocaleString('en')} test images` + (mistakes.length > SHOWN ? `, showing ${this.offset + 1}–${this.offset + this.items.length}` : '')
      : `test images ${start + 1}–${start + count} · ${count - mistakes.length} of ${count} right`;
    this.render();
    this.version += 1;
  }

  private render(): void {
    const test = this.app.devices.mnist.test;
    byId('strip').replaceChildren(
      ...this.items.map((item) => {
        const canvas = pixelCanvas(28, 28, 2);
        paint(canvas, test.pixels.subarray(item.index * 784, (item.index + 1) * 784), 28, 28, grayscale, 255);
        const wrong = item.predicted !== item.label;
        const caption = wrong ? el('span', {}, el('b', {}, String(item.predicted)), ` ✗ is ${item.label}`) : el('span', {}, el('b', {}, String(item.predicted)));
        const cell = el(
          'button',
          {
            type: 'button',
            class: `strip-item${wrong ? ' wrong' : ''}`,
            'data-index': item.index,
            title: `test image #${item.index}: label ${item.label}, predicted ${item.predicted} (${percent(item.confidence)})`,
          },
          canvas,
          caption,
        );
        cell.addEventListener('click', () => this.app.select({ kind: 'test', index: item.index }));
        return cell;
      }),
    );
    this.markSelected();
  }

  private markSelected(): void {
    const sample = this.app.sample;
    for (const cell of byId('strip').querySelectorAll<HTMLElement>('.strip-item')) {
      cell.classList.toggle('selected', sample.kind === 'test' && Number(cell.dataset.index) === sample.index);
    }
  }
}
