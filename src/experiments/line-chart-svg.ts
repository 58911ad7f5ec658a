/**
 * A small standalone SVG line chart (no scripts, no fonts to load), for experiment results
 * that must be readable as a file: one polyline per series, smoothed by a moving average.
 */
export interface Series {
  name: string;
  values: readonly number[];
  /** A color index shared by related series (train and test of one run); the series' own index by default. */
  color?: number;
  dashed?: boolean;
}

const COLORS = ['#1b6ac9', '#d9480f', '#2b8a3e', '#862e9c', '#5c5f66', '#c92a2a'];

/** A line chart as a standalone SVG file, for the experiments' committed results. */
export function lineChartSvg(series: readonly Series[], title: string, yLabel: string, smooth = 20, xLabel = 'step'): string {
  const plot = { x: 60, y: 40, w: 500, h: 320 };
  // Room on the right for the longest legend entry (~7 px per character at 12 px).
  const W = Math.max(720, plot.x + plot.w + 56 + 7 * Math.max(...series.map((s) => s.name.length), 0));
  const H = 420;
  const smoothed = series.map((s) => movingAverage(s.values, smooth));
  const n = Math.max(...series.map((s) => s.values.length), 1);
  const all = smoothed.flat().filter(Number.isFinite);
  const yMax = Math.max(...all, 1e-9);
  const x = (i: number) => plot.x + (i / Math.max(n - 1, 1)) * plot.w;
  const y = (v: number) => plot.y + plot.h - (v / yMax) * plot.h;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${plot.x}" y1="${plot.y + plot.h}" x2="${plot.x + plot.w}" y2="${plot.y + plot.h}" stroke="#333"/>`,
    `<line x1="${plot.x}" y1="${plot.y}" x2="${plot.x}" y2="${plot.y + plot.h}" stroke="#333"/>`,
    `<text x="${plot.x + plot.w / 2}" y="${H - 20}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text x="16" y="${plot.y + plot.h / 2}" transform="rotate(-90 16 ${plot.y + plot.h / 2})" text-anchor="middle">${esc(yLabel)}</text>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const v = (yMax * k) / 4;
    out.push(`<text x="${plot.x - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${v.toPrecision(2)}</text>`);
    const i = Math.round(((n - 1) * k) / 4);
    out.push(`<text x="${x(i)}" y="${plot.y + plot.h + 16}" text-anchor="middle" fill="#555">${i + 1}</text>`);
  }
  smoothed.forEach((values, s) => {
    const color = COLORS[(series[s]!.color ?? s) % COLORS.length]!;
    const dash = series[s]!.dashed ? ' stroke-dasharray="5 3"' : '';
    const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5"${dash} points="${points}"/>`);
    out.push(`<line x1="${plot.x + plot.w + 20}" y1="${plot.y + 10 + s * 20}" x2="${plot.x + plot.w + 40}" y2="${plot.y + 10 + s * 20}" stroke="${color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${plot.x + plot.w + 46}" y="${plot.y + 14 + s * 20}">${esc(series[s]!.name)}</text>`);
  });
  if (smooth > 1) out.push(`<text x="${plot.x + plot.w + 20}" y="${plot.y + 20 + smoothed.length * 20}" fill="#555">moving average of ${smooth}</text>`);
  out.push('</svg>');
  return out.join('\n');
}

function movingAverage(values: readonly number[], n: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i]!;
    if (i >= n) sum -= values[i - n]!;
    out.push(sum / Math.min(i + 1, n));
  }
  return out;
}
