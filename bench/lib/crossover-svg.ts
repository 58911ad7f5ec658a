import { convCells, crossoverBatches, mlpCells } from './crossover-cells.js';
import type { CrossoverCell, CrossoverResult, CrossoverTiming } from './crossover.js';

/**
 * The crossover as a standalone SVG (no scripts, no external fonts): ms/step against batch size
 * on log axes, one colour per hidden width of the seed's net and one for SimpleConvNet (the conv
 * axis), GPU solid and CPU dashed; beside it a grid saying which device wins each cell and by how
 * much. Pure, so the bench page, the Node bench and the demo can all render it.
 */
export function crossoverSvg(r: CrossoverResult, title: string): string {
  // One line and one grid row per hidden width, and one for SimpleConvNet when the result has it.
  const series: { legend: string; row: string; cells: CrossoverCell[] }[] = r.hiddens.map((h) => ({ legend: `hidden ${h}`, row: `h ${h}`, cells: mlpCells(r).filter((c) => c.hidden === h) }));
  const conv = convCells(r);
  if (conv.length) series.push({ legend: 'SimpleConvNet (Adam)', row: 'conv', cells: conv });
  const batches = crossoverBatches(r);
  // Room for the win grid's columns and for its rows plus the legend under it.
  const W = Math.max(900, 640 + batches.length * 68);
  const H = 440 + Math.max(0, series.length - 3) * 62;
  const plot = { x: 70, y: 60, w: 470, h: 290 };
  const colors = ['#1b6ac9', '#d9480f', '#2b8a3e', '#862e9c', '#5c5f66'];
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const measured = (t: CrossoverTiming) => !t.skipped && t.ms.median > 0 && Number.isFinite(t.ms.median);
  const values = r.cells.flatMap((c) => [c.cpu, c.gpu].filter(measured).map((t) => t.ms.median));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">CPU vs GPU: ms per training step (784-h-10, SGD${conv.length ? '; SimpleConvNet, Adam' : ''})</text>`);
  out.push(`<text x="${W / 2}" y="40" text-anchor="middle" fill="#555">${esc(title)}</text>`);
  if (values.length === 0 || batches.length === 0) {
    out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text></svg>`);
    return out.join('\n');
  }

  const lx = (b: number) => Math.log10(b);
  const [bx0, bx1] = [lx(Math.min(...batches)), lx(Math.max(...batches))];
  const y0 = Math.floor(Math.log10(Math.min(...values)));
  const y1 = Math.ceil(Math.log10(Math.max(...values)));
  const px = (b: number) => plot.x + (bx1 === bx0 ? plot.w / 2 : ((lx(b) - bx0) / (bx1 - bx0)) * plot.w);
  const py = (ms: number) => plot.y + plot.h - ((Math.log10(ms) - y0) / Math.max(y1 - y0, 1)) * plot.h;

  // Axes, decades and batch ticks.
  out.push(`<rect x="${plot.x}" y="${plot.y}" width="${plot.w}" height="${plot.h}" fill="none" stroke="#999"/>`);
  for (let e = y0; e <= y1; e++) {
    const y = py(10 ** e);
    out.push(`<line x1="${plot.x}" x2="${plot.x + plot.w}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${plot.x - 6}" y="${y + 4}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)}</text>`);
  }
  for (const b of batches) {
    out.push(`<line x1="${px(b)}" x2="${px(b)}" y1="${plot.y}" y2="${plot.y + plot.h}" stroke="#eee"/>`);
    out.push(`<text x="${px(b)}" y="${plot.y + plot.h + 16}" text-anchor="middle">${b}</text>`);
  }
  out.push(`<text x="${plot.x + plot.w / 2}" y="${plot.y + plot.h + 34}" text-anchor="middle">batch size</text>`);
  out.push(`<text transform="translate(20 ${plot.y + plot.h / 2}) rotate(-90)" text-anchor="middle">ms / step (log)</text>`);

  // The legend sits under the win grid, where no line can run through it.
  const legend = { x: 600, y: plot.y + 90 + series.length * 44 };
  series.forEach((line, i) => {
    const color = colors[i % colors.length]!;
    for (const device of ['gpu', 'cpu'] as const) {
      const pts = line.cells.filter((c) => measured(c[device])).sort((a, b) => a.batch - b.batch).map((c) => [px(c.batch), py(c[device].ms.median)] as const);
      const dash = device === 'cpu' ? ' stroke-dasharray="6 4"' : '';
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`);
      for (const [x, y] of pts) out.push(device === 'gpu' ? `<circle cx="${x}" cy="${y}" r="3.5" fill="${color}"/>` : `<rect x="${x - 3}" y="${y - 3}" width="6" height="6" fill="white" stroke="${color}"/>`);
    }
    const ly = legend.y + i * 18;
    out.push(`<line x1="${legend.x}" x2="${legend.x + 24}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${legend.x + 30}" y="${ly + 4}">${esc(line.legend)}</text>`);
  });
  const ky = legend.y + series.length * 18;
  out.push(`<line x1="${legend.x}" x2="${legend.x + 24}" y1="${ky}" y2="${ky}" stroke="#333" stroke-width="2"/><text x="${legend.x + 30}" y="${ky + 4}">GPU (solid, dots)</text>`);
  out.push(`<line x1="${legend.x}" x2="${legend.x + 24}" y1="${ky + 18}" y2="${ky + 18}" stroke="#333" stroke-width="2" stroke-dasharray="6 4"/><text x="${legend.x + 30}" y="${ky + 22}">CPU (dashed, squares)</text>`);

  // Who wins each cell.
  const grid = { x: 600, y: plot.y + 40, cw: 68, ch: 44 };
  out.push(`<text x="${grid.x + (grid.cw * batches.length) / 2}" y="${plot.y + 8}" text-anchor="middle" font-weight="bold">faster device (by how much)</text>`);
  batches.forEach((b, j) => out.push(`<text x="${grid.x + j * grid.cw + grid.cw / 2}" y="${grid.y - 6}" text-anchor="middle">b ${b}</text>`));
  series.forEach((line, i) => {
    out.push(`<text x="${grid.x - 6}" y="${grid.y + i * grid.ch + grid.ch / 2 + 4}" text-anchor="end">${esc(line.row)}</text>`);
    batches.forEach((b, j) => {
      const c = line.cells.find((x) => x.batch === b);
      const x = grid.x + j * grid.cw;
      const y = grid.y + i * grid.ch;
      // Pale when the two devices' sample ranges overlap: the winner may be noise.
      const fill = !c ? '#f1f3f5' : c.winner === 'gpu' ? (c.clear ? '#a5d8ff' : '#e7f5ff') : c.clear ? '#ffd8a8' : '#fff4e6';
      out.push(`<rect x="${x}" y="${y}" width="${grid.cw - 2}" height="${grid.ch - 2}" fill="${fill}" stroke="#ccc"/>`);
      if (c) {
        out.push(`<text x="${x + grid.cw / 2}" y="${y + 18}" text-anchor="middle" font-weight="bold">${c.clear ? '' : '~'}${c.winner.toUpperCase()}</text>`);
        const atLeast = c.cpu.skipped || c.gpu.skipped ? '≥' : '';
        out.push(`<text x="${x + grid.cw / 2}" y="${y + 33}" text-anchor="middle">${atLeast}${c.factor.toFixed(c.factor < 10 ? 1 : 0)}×</text>`);
      }
    });
  });
  const keyY = grid.y + series.length * grid.ch + 14;
  out.push(`<text x="${grid.x}" y="${keyY}" fill="#555" font-size="11">b = batch, h = hidden width${conv.length ? ', conv = SimpleConvNet' : ''}</text>`);
  out.push(`<text x="${grid.x}" y="${keyY + 14}" fill="#555" font-size="11">~ and pale: the min–max ranges overlap</text>`);
  wrap(r.note, 150).forEach((line, i, all) => out.push(`<text x="20" y="${H - 10 - (all.length - 1 - i) * 14}" fill="#555" font-size="11">${esc(line)}</text>`));
  out.push('</svg>');
  return out.join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, line] : lines;
}
