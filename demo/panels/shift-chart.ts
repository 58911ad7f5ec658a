/**
 * Test accuracy against shift: every MNIST test image moved right and down by the same number of
 * pixels, for the TwoLayerNet and SimpleConvNet (docs/experiments/shift.json, written by
 * `npm run experiment -- shift`). A value not measured yet (null) is drawn as such, not as 0.
 */
import { byId, el } from '../app/dom.js';

export interface ShiftResult {
  about?: string;
  shifts: number[];
  nets: { net: string; name: string; training?: string; accuracy: (number | null)[] }[];
}

// Bundled at build time, like the other committed results.
const files = import.meta.glob<ShiftResult>('../../docs/experiments/shift.json', { eager: true, import: 'default' });

export function committedShift(): ShiftResult | undefined {
  return Object.values(files)[0];
}

export interface ShiftSnapshot {
  /** An SVG chart is on the page. */
  rendered: boolean;
  shifts: number[];
  nets: { net: string; name: string; accuracy: (number | null)[]; pointsDrawn: number }[];
  /** Every value is still null. */
  notMeasured: boolean;
}

const COLORS: Record<string, string> = { mlp: '#ff7f0e', 'simple-conv': '#1f77b4' };
const W = 340;
const H = 190;
const M = { left: 40, right: 12, top: 12, bottom: 34 };

const SVG = 'http://www.w3.org/2000/svg';
function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

export class ShiftChart {
  private readonly host = byId('shift-chart');
  private drawn: ShiftSnapshot = { rendered: false, shifts: [], nets: [], notMeasured: true };

  constructor(private readonly result: ShiftResult | undefined = committedShift()) {
    this.render();
  }

  private render(): void {
    const r = this.result;
    if (!r || r.shifts.length === 0) {
      this.host.replaceChildren(el('p', { class: 'hint' }, 'No shift results: npm run experiment -- shift writes docs/experiments/shift.json.'));
      return;
    }
    const maxShift = Math.max(...r.shifts, 1);
    const x = (s: number) => M.left + (s / maxShift) * (W - M.left - M.right);
    const y = (a: number) => M.top + (1 - a) * (H - M.top - M.bottom);
    const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', class: 'shift-svg' });
    chart.append(svg('title', {}, 'test accuracy against shift'));
    // Axes: accuracy 0..100% on y, shift in pixels on x.
    for (const a of [0, 0.25, 0.5, 0.75, 1]) {
      chart.append(svg('line', { x1: M.left, x2: W - M.right, y1: y(a), y2: y(a), class: 'grid' }));
      chart.append(svg('text', { x: M.left - 4, y: y(a) + 3, 'text-anchor': 'end', class: 'tick' }, `${a * 100}%`));
    }
    for (const s of r.shifts) chart.append(svg('text', { x: x(s), y: H - M.bottom + 13, 'text-anchor': 'middle', class: 'tick' }, String(s)));
    chart.append(svg('text', { x: (M.left + W - M.right) / 2, y: H - 4, 'text-anchor': 'middle', class: 'axis' }, 'shift right and down (pixels)'));

    const nets = r.nets.map((n) => {
      const color = COLORS[n.net] ?? '#555';
      const points = r.shifts.map((s, i) => [s, n.accuracy[i]] as const).filter((p): p is readonly [number, number] => typeof p[1] === 'number');
      if (points.length > 1) {
        chart.append(svg('polyline', { points: points.map(([s, a]) => `${x(s)},${y(a)}`).join(' '), fill: 'none', stroke: color, 'stroke-width': 2 }));
      }
      for (const [s, a] of points) {
        const dot = svg('circle', { cx: x(s), cy: y(a), r: 3.5, fill: color, 'data-net': n.net });
        dot.append(svg('title', {}, `${n.name}, shift ${s}: ${(a * 100).toFixed(1)}%`));
        chart.append(dot);
      }
      // A shift not measured yet: a hollow mark on the axis, not a point at 0.
      r.shifts.forEach((s, i) => {
        if (typeof n.accuracy[i] !== 'number') chart.append(svg('circle', { cx: x(s), cy: y(0), r: 3.5, fill: 'none', stroke: color, 'stroke-dasharray': '2 2', class: 'missing' }));
      });
      return { net: n.net, name: n.name, accuracy: n.accuracy, pointsDrawn: points.length };
    });
    const notMeasured = nets.every((n) => n.pointsDrawn === 0);
    if (notMeasured) {
      chart.append(svg('text', { x: (M.left + W - M.right) / 2, y: y(0.55), 'text-anchor': 'middle', class: 'not-measured' }, 'not measured yet'));
    }
    const legend = el(
      'div',
      { class: 'shift-legend' },
      ...nets.map((n, i) =>
        el(
          'span',
          { class: 'shift-key', 'data-net': n.net, title: r.nets[i]!.training || undefined },
          el('span', { class: 'swatch', style: `background:${COLORS[n.net] ?? '#555'}` }),
          legendText(n.name, n.pointsDrawn, r.shifts.length),
        ),
      ),
    );
    const note = notMeasured ? el('p', { class: 'hint' }, 'The numbers come from npm run experiment -- shift (docs/experiments/shift.json); they have not been measured yet.') : null;
    this.host.replaceChildren(chart, legend, ...(note ? [note] : []));
    this.drawn = { rendered: true, shifts: [...r.shifts], nets, notMeasured };
  }

  snapshot(): ShiftSnapshot {
    return this.drawn;
  }
}

function legendText(name: string, drawn: number, shifts: number): string {
  if (drawn === 0) return `${name} (not measured yet)`;
  const missing = shifts - drawn;
  return missing > 0 ? `${name} (${missing} shift${missing === 1 ? '' : 's'} not measured yet)` : name;
}
