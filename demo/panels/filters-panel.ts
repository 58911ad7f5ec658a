/**
 * The book's figure 7-24: SimpleConvNet's 30 first-layer filters (5×5 weights each) before
 * learning and now, each drawn black at its smallest weight and white at its largest. Before
 * learning they are noise; training turns many into detectors of edges and blobs. "Before" is
 * read from the net as created, before its first step; "now" is read at the cadence the other
 * live panels use (the app's refresh, at most every 1.5 s while training), queued behind the
 * panels' other device work so it never holds up a training step.
 */
import type { Tensor } from 'webgpu-backprop';
import type { App } from '../app/app.js';
import { byId, el, sci } from '../app/dom.js';
import { LatestOnly } from '../app/latest-only.js';
import { firstConvStages } from '../engine/nets.js';
import type { TrainingSession } from '../training/session.js';
import { TileGrid } from '../ui/map-grid.js';

const ZOOM = 8;
const COLUMNS = 10;

export interface FiltersSnapshot {
  /** The card is on the page (the net is a convnet). */
  shown: boolean;
  count: number;
  /** [height, width] of one filter. */
  size: [number, number];
  /** The filters as drawn, flat: filter after filter. */
  before: number[] | null;
  now: number[] | null;
  /** The step the session had read back when "now" was read. */
  nowStep: number | null;
  /** Times "now" has been redrawn. */
  redraws: number;
}

interface Shown {
  session: TrainingSession;
  count: number;
  size: [number, number];
  beforeGrid: TileGrid;
  nowGrid: TileGrid;
  before?: Float32Array;
  now?: Float32Array;
  nowStep?: number;
}

export class FiltersPanel {
  private readonly card = byId('filters-card');
  private readonly update: LatestOnly<void>;
  private shown: Shown | undefined;
  private redraws = 0;

  constructor(private readonly app: App) {
    this.update = new LatestOnly(() => this.readNow(), (e) => app.fail(e));
    app.events.on('session', (s) => this.onSession(s));
    app.events.on('refresh', () => {
      if (this.shown) this.update.request();
    });
  }

  private onSession(session: TrainingSession): void {
    // Announced again after a run moved to the CPU (resumeFrom): keep what it started from.
    if (this.shown?.session === session) return;
    const first = firstConvStages(session.net);
    this.card.hidden = !first;
    if (!first) {
      this.shown = undefined;
      return;
    }
    const W = first.conv.W.value;
    const [count, channels, kh, kw] = W.shape as [number, number, number, number];
    const grid = () => new TileGrid({ count: count * channels, height: kh, width: kw, zoom: ZOOM, columns: COLUMNS, title: (i) => `filter ${i + 1}`, className: 'filters' });
    const shown: Shown = { session, count, size: [kh, kw], beforeGrid: grid(), nowGrid: grid() };
    this.shown = shown;
    this.redraws = 0;
    byId('filters-before').replaceChildren(shown.beforeGrid.element);
    byId('filters-now').replaceChildren(shown.nowGrid.element);
    byId('filters-now-caption').textContent = 'now';
    byId('filters-change').textContent = '';
    // Read now, before anything of this net has run: the read is recorded ahead of every step.
    void this.read(session, W).then((values) => {
      if (this.shown !== shown) return;
      shown.before = values;
      shown.beforeGrid.paint(values);
    }, (e: unknown) => this.app.fail(e));
  }

  private read<T extends Tensor>(session: TrainingSession<T>, W: T): Promise<Float32Array> {
    return session.backend.read(W).then((v) => Float32Array.from(v));
  }

  private async readNow(): Promise<void> {
    const shown = this.shown;
    if (!shown) return;
    const { session } = shown;
    const W = firstConvStages(session.net)!.conv.W.value;
    const { values, step } = await this.app.netWork.run(async () => ({ step: session.step, values: await this.read(session, W) }));
    if (this.shown !== shown) return;
    shown.now = values;
    shown.nowStep = step;
    shown.nowGrid.paint(values);
    this.redraws += 1;
    byId('filters-now-caption').textContent = step === 0 ? 'now: not trained yet' : `now, after step ${step.toLocaleString('en')}`;
    if (shown.before) {
      let change = 0;
      let size = 0;
      for (let i = 0; i < values.length; i++) {
        change += Math.abs(values[i]! - shown.before[i]!);
        size += Math.abs(shown.before[i]!);
      }
      byId('filters-change').textContent =
        `Mean |change| of a weight since the start: ${sci(change / values.length)}, against a mean |weight| of ${sci(size / values.length)} at the start.`;
    }
  }

  snapshot(): FiltersSnapshot {
    const s = this.shown;
    return {
      shown: !this.card.hidden,
      count: s?.count ?? 0,
      size: s?.size ?? [0, 0],
      before: s?.before ? Array.from(s.before) : null,
      now: s?.now ? Array.from(s.now) : null,
      nowStep: s?.nowStep ?? null,
      redraws: this.redraws,
    };
  }
}
