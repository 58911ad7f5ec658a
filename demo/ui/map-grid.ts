/**
 * Small grayscale tiles in a grid: a convnet's filters (5×5 each) and its feature maps (24×24,
 * 12×12), each tile normalized to its own min..max as the book's figure 7-24 draws filters, so
 * the pattern shows whatever the tile's scale.
 */
import { el } from '../app/dom.js';
import { grayscale, paint, pixelCanvas } from './pixels.js';

/** Smallest and largest value of values[from, to). */
export function range(values: ArrayLike<number>, from = 0, to = values.length): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = from; i < to; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** A tile's values mapped to [0, 1] over its own min..max (all 0 where the tile is flat). */
export function normalized(values: ArrayLike<number>, from: number, to: number): Float32Array {
  const [lo, hi] = range(values, from, to);
  const out = new Float32Array(to - from);
  const span = hi - lo;
  if (span > 0) for (let i = from; i < to; i++) out[i - from] = (values[i]! - lo) / span;
  return out;
}

export interface TileGridOptions {
  count: number;
  height: number;
  width: number;
  /** CSS pixels per value. */
  zoom: number;
  /** Tiles per row. */
  columns: number;
  /** The tooltip of tile i. */
  title: (i: number) => string;
  className?: string;
}

/** A grid of `count` canvases, painted by `paintTiles`. */
export class TileGrid {
  readonly element: HTMLElement;
  readonly canvases: HTMLCanvasElement[];

  constructor(readonly options: TileGridOptions) {
    const { count, height, width, zoom, columns, title } = options;
    this.canvases = Array.from({ length: count }, (_, i) => {
      const canvas = pixelCanvas(width, height, zoom, 'pixels tile');
      canvas.title = title(i);
      return canvas;
    });
    this.element = el('div', { class: `tile-grid ${options.className ?? ''}`.trim(), style: `grid-template-columns: repeat(${columns}, max-content)` });
    this.element.append(...this.canvases);
  }

  /**
   * Paints tile i from values[i·h·w, (i+1)·h·w): black at the smallest value, white at the
   * largest, of each tile ('tile', as figure 7-24 draws filters) or of all tiles ('all', so
   * that a feature map that responds weakly looks weak).
   */
  paint(values: ArrayLike<number>, scale: 'tile' | 'all' = 'tile'): void {
    const { height, width } = this.options;
    const size = height * width;
    const [lo, hi] = range(values, 0, this.canvases.length * size);
    this.canvases.forEach((canvas, i) => {
      if (scale === 'tile') return paint(canvas, normalized(values, i * size, (i + 1) * size), width, height, grayscale);
      const tile = new Float32Array(size);
      for (let k = 0; k < size; k++) tile[k] = hi > lo ? (values[i * size + k]! - lo) / (hi - lo) : 0;
      paint(canvas, tile, width, height, grayscale);
    });
  }
}
