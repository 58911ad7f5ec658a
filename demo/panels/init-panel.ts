/**
 * The book's initialization experiment (ch. 6.2) as histograms: for each activation and
 * weight scale, how the activations of five 100-unit layers are distributed. Runs on the CPU
 * device (a few seconds) so it never competes with training for the GPU.
 */
import { INIT_RUNS, INIT_SETUP, initActivations, type Backend, type InitRun, type Tensor } from 'webgpu-backprop';
import { byId, el } from '../app/dom.js';

const SVG = 'http://www.w3.org/2000/svg';

export class InitPanel {
  /** The runs shown, for the test hook. */
  runs: InitRun[] = [];

  constructor(private readonly backend: Backend<Tensor>) {
    const button = byId('init-button', HTMLButtonElement);
    button.addEventListener('click', () => {
      button.disabled = true;
      void this.run().finally(() => (button.disabled = false));
    });
  }

  private async run(): Promise<void> {
    const host = byId('init-result');
    const status = byId('init-status');
    host.replaceChildren();
    this.runs = [];
    for (const [activation, init] of INIT_RUNS) {
      status.textContent = `running ${activation}, ${label(init)}…`;
      // Let the page paint between runs.
      await new Promise((r) => setTimeout(r, 0));
      const run = await initActivations(this.backend, activation, init);
      this.runs.push(run);
      host.append(row(run));
    }
    status.textContent = `${INIT_SETUP.inputs} inputs ~ N(0, 1) through ${INIT_SETUP.layers} layers of ${INIT_SETUP.units} units; histograms over [0, 1].`;
  }
}

function label(init: InitRun['init']): string {
  return typeof init === 'number' ? `std ${init}` : init === 'he' ? 'He √(2/n)' : 'Xavier √(1/n)';
}

function row(run: InitRun): HTMLElement {
  return el(
    'div',
    { class: 'init-row', 'data-run': `${run.activation}-${run.init}` },
    el('div', { class: 'init-label' }, `${run.activation}, ${label(run.init)}`),
    ...run.layers.map((l) => el('figure', { class: 'init-hist' }, histogram(l.histogram), el('figcaption', {}, `layer ${l.layer} · std ${l.std.toPrecision(2)}`))),
  );
}

function histogram(counts: number[]): SVGSVGElement {
  const w = 120;
  const h = 60;
  const max = Math.max(...counts, 1);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', String(h));
  const bar = w / counts.length;
  counts.forEach((c, i) => {
    const rect = document.createElementNS(SVG, 'rect');
    const bh = (c / max) * (h - 2);
    rect.setAttribute('x', (i * bar).toFixed(2));
    rect.setAttribute('y', (h - bh).toFixed(2));
    rect.setAttribute('width', (bar - 0.5).toFixed(2));
    rect.setAttribute('height', bh.toFixed(2));
    rect.setAttribute('fill', '#1b6ac9');
    svg.append(rect);
  });
  return svg;
}
