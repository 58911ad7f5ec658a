/**
 * A line chart over uPlot that grows as data arrives: points are appended to plain arrays and the
 * chart redraws at most once per animation frame, so a run that reports hundreds of windows a
 * second costs one draw per frame. Its width follows its container.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface LineSeries {
  label: string;
  color: string;
  width?: number;
  dash?: number[];
  /** Draw a dot per point (for sparse series such as one accuracy per epoch). */
  points?: boolean;
  /** Legend value format. */
  format?: (v: number) => string;
}

export interface LineChartOptions {
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  height?: number;
  /** Fixed y range; otherwise it follows the data. */
  yRange?: [number, number];
  xFormat?: (v: number) => string;
}

export class LineChart {
  private readonly plot: uPlot;
  private readonly xs: number[] = [];
  private readonly ys: number[][];
  private dirty = false;

  constructor(
    private readonly container: HTMLElement,
    options: LineChartOptions,
  ) {
    this.ys = options.series.map(() => []);
    const fmt = (f?: (v: number) => string) => (_: uPlot, v: number | null) => (v === null || v === undefined ? '–' : f ? f(v) : v.toPrecision(4));
    const yRange = options.yRange;
    this.plot = new uPlot(
      {
        width: Math.max(container.clientWidth, 200),
        height: options.height ?? 200,
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: false },
          y: yRange ? { range: () => yRange } : { range: (_u, min, max) => [Math.min(0, min), max > min ? max * 1.05 : min + 1] },
        },
        axes: [
          { label: options.xLabel, labelSize: 18, size: 36, values: (_u, ticks) => ticks.map((t) => (options.xFormat ? options.xFormat(t) : String(t))) },
          { label: options.yLabel, labelSize: 18, size: 48 },
        ],
        series: [
          { label: options.xLabel, value: fmt(options.xFormat) },
          ...options.series.map((s): uPlot.Series => ({
            label: s.label,
            stroke: s.color,
            width: s.width ?? 1.5,
            dash: s.dash,
            points: { show: !!s.points, size: 6, fill: s.color },
            value: fmt(s.format),
            spanGaps: true,
          })),
        ],
      },
      [[], ...this.ys],
      container,
    );
    new ResizeObserver(() => {
      const width = Math.max(container.clientWidth, 200);
      if (width !== this.plot.width) this.plot.setSize({ width, height: this.plot.height });
    }).observe(container);
  }

  /** Appends one x and a y per series (undefined for a gap). */
  push(x: number, ...ys: (number | undefined)[]): void {
    this.xs.push(x);
    this.ys.forEach((series, i) => series.push(ys[i] ?? NaN));
    this.scheduleDraw();
  }

  clear(): void {
    this.xs.length = 0;
    for (const s of this.ys) s.length = 0;
    this.scheduleDraw();
  }

  get length(): number {
    return this.xs.length;
  }

  private scheduleDraw(): void {
    if (this.dirty) return;
    this.dirty = true;
    requestAnimationFrame(() => {
      this.dirty = false;
      // uPlot treats null as a gap; NaN would break its auto-ranging.
      const ys = this.ys.map((s) => s.map((v) => (Number.isNaN(v) ? null : v)));
      this.plot.setData([this.xs.slice(), ...ys]);
    });
  }

  get element(): HTMLElement {
    return this.container;
  }
}
