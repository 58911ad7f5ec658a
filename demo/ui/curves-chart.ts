/**
 * A chart of a fixed set of curves over a known number of points (an experiment's steps or
 * epochs): `reset(n)` lays out x = 1..n with every curve empty, `set` fills one point, and the
 * chart redraws at most once a frame, so a live run can draw point by point. Used by the
 * experiment panels for both the committed result and the run on the page.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/**
 * The colours of the experiments' SVGs (src/experiments/line-chart-svg.ts), in the same order,
 * so a panel and the committed SVG read alike.
 */
export const EXPERIMENT_COLORS = ['#1b6ac9', '#d9480f', '#2b8a3e', '#862e9c', '#5c5f66', '#c92a2a'];

export interface CurveStyle {
  label: string;
  color: string;
  /** uPlot's dash pattern; the SVGs' dashed lines are 5 on, 3 off. */
  dash?: number[];
}

export interface CurvesChartOptions {
  xLabel: string;
  yLabel: string;
  curves: readonly CurveStyle[];
  /**
   * 'log': a log axis fitted to the data (for losses falling over decades); a pair: a fixed
   * linear range (for accuracies, so runs of different length compare at a glance).
   */
  y: 'log' | readonly [number, number];
  height?: number;
  /** Legend value format. */
  format?: (v: number) => string;
}

/** What a chart draws, per curve: null where a point is not (yet) there. */
export interface DrawnCurve {
  label: string;
  values: (number | null)[];
}

export class CurvesChart {
  private readonly plot: uPlot;
  private readonly labels: string[];
  private data: (number | null)[][] = [[]];
  private dirty = false;

  constructor(container: HTMLElement, options: CurvesChartOptions) {
    this.labels = options.curves.map((c) => c.label);
    const format = options.format ?? ((v: number) => v.toPrecision(3));
    const y = options.y;
    this.plot = new uPlot(
      {
        width: Math.max(container.clientWidth, 200),
        height: options.height ?? 260,
        // Dashed curves get dashed legend markers, so the legend tells train from test.
        legend: { live: true, markers: { dash: (u, i) => (u.series[i]?.dash?.length ? 'dashed' : 'solid') } },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: false },
          // A log scale's own range rounds out to whole decades: 2.3 would stretch the axis to 10.
          y: y === 'log' ? { distr: 3, range: (_u, min, max) => (min > 0 ? [min / 1.2, max * 1.2] : [0.01, 10]) } : { range: () => [y[0], y[1]] },
        },
        axes: [
          { label: options.xLabel, labelSize: 18, size: 36 },
          { label: options.yLabel, labelSize: 18, size: 52 },
        ],
        series: [
          { label: options.xLabel },
          ...options.curves.map(
            (c): uPlot.Series => ({
              label: c.label,
              stroke: c.color,
              dash: c.dash,
              width: 1.5,
              spanGaps: false,
              value: (_u, v) => (v === null || v === undefined ? '–' : format(v)),
            }),
          ),
        ],
      },
      [[], ...options.curves.map(() => [])],
      container,
    );
    new ResizeObserver(() => {
      const width = Math.max(container.clientWidth, 200);
      if (width !== this.plot.width) this.plot.setSize({ width, height: this.plot.height });
    }).observe(container);
  }

  /** Empty curves over x = 1..points, filled in by `set`. */
  reset(points: number): void {
    this.data = [Array.from({ length: points }, (_, i) => i + 1), ...this.labels.map(() => new Array<number | null>(points).fill(null))];
    this.scheduleDraw();
  }

  /** The value of curve `curve` at x = index + 1. */
  set(curve: number, index: number, value: number): void {
    this.data[curve + 1]![index] = value;
    this.scheduleDraw();
  }

  /** What is drawn now (not what is waiting for the next frame): for the test hook. */
  drawn(): DrawnCurve[] {
    return this.labels.map((label, i) => ({ label, values: Array.from(this.plot.data[i + 1] ?? [], (v) => v ?? null) }));
  }

  private scheduleDraw(): void {
    if (this.dirty) return;
    this.dirty = true;
    requestAnimationFrame(() => {
      this.dirty = false;
      this.plot.setData(this.data.map((s) => s.slice()) as uPlot.AlignedData);
    });
  }
}
