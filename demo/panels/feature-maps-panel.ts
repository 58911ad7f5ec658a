/**
 * What SimpleConvNet's first layers make of the drawn digit: the 30 feature maps after Conv1
 * (one per filter), after Relu1 and after Pool1. The draw panel computes them in the same
 * forward pass as its prediction and hands them here; the card shows only while a convnet trains.
 */
import type { App } from '../app/app.js';
import { byId, el } from '../app/dom.js';
import type { FeatureMaps, MapStage } from '../engine/feature-maps.js';
import { firstConvStages } from '../engine/nets.js';
import { TileGrid } from '../ui/map-grid.js';

/** Every map shows at the same size: a 24×24 map at 2 CSS pixels per value, a 12×12 one at 4. */
const TILE_PX = 48;
const COLUMNS = 10;

const WORDS: Record<number, (s: MapStage) => string> = {
  0: (s) => `${s.layer}: ${s.channels} maps of ${s.height}×${s.width}, one per filter (x ⊛ W + b; black the lowest value of all ${s.channels}, white the highest)`,
  1: (s) => `${s.layer}: max(0, ·) of each; black is 0, where the filter found nothing`,
  2: (s) => `${s.layer}: the largest value of each 2×2 window, ${s.height}×${s.width}; this is what Affine1 sees`,
};

export interface FeatureMapsSnapshot {
  /** The card is on the page (the net is a convnet). */
  shown: boolean;
  /** The drawing the maps belong to (the draw panel's number), or null before any. */
  drawing: number | null;
  stages: { layer: string; maps: number; height: number; width: number; tilesDrawn: number; nonzero: number }[];
}

export class FeatureMapsPanel {
  private readonly card = byId('maps-card');
  private readonly body = byId('maps-body');
  private shownFor: { drawing: number; maps: FeatureMaps } | undefined;
  private grids: TileGrid[] = [];

  constructor(app: App) {
    app.events.on('session', (s) => {
      this.card.hidden = !firstConvStages(s.net);
      this.clear();
    });
  }

  /** No drawing (or a net without convolutions). */
  clear(): void {
    this.shownFor = undefined;
    this.grids = [];
    this.body.replaceChildren(el('p', { class: 'hint' }, 'Draw a digit in panel 2: its feature maps appear here, computed by the net as it is now.'));
  }

  show(drawing: number, maps: FeatureMaps): void {
    this.shownFor = { drawing, maps };
    this.grids = maps.stages.map(
      (s) =>
        new TileGrid({
          count: s.channels,
          height: s.height,
          width: s.width,
          zoom: TILE_PX / s.width,
          columns: COLUMNS,
          title: (i) => `${s.layer}, map ${i + 1} (filter ${i + 1})`,
          className: 'maps',
        }),
    );
    this.body.replaceChildren(
      ...maps.stages.map((s, i) => {
        this.grids[i]!.paint(s.values, 'all');
        return el('div', { class: 'map-stage', 'data-layer': s.layer }, el('div', { class: 'caption' }, WORDS[i]?.(s) ?? s.layer), this.grids[i]!.element);
      }),
    );
  }

  snapshot(): FeatureMapsSnapshot {
    const shown = this.shownFor;
    return {
      shown: !this.card.hidden,
      drawing: shown?.drawing ?? null,
      stages: (shown?.maps.stages ?? []).map((s, i) => ({
        layer: s.layer,
        maps: s.channels,
        height: s.height,
        width: s.width,
        tilesDrawn: this.grids[i]?.canvases.filter((c) => c.isConnected).length ?? 0,
        nonzero: s.values.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0),
      })),
    };
  }
}
