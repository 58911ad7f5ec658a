/**
 * The book's gradient-check table: mean |numerical − backprop| for W1, b1, W2, b2 on the CPU
 * (float64) and the GPU (float32), with the time each method took, and a switch that breaks
 * ReLU's backward to show what a bug looks like in the table.
 */
import type { App } from '../app/app.js';
import { byId, durationText, el, sci } from '../app/dom.js';
import type { DemoSettings } from '../app/settings.js';
import type { GradientDiff } from 'webgpu-backprop';
import { backpropOn, checkInput, compareAll, numericalInWorker, paramShapes, type BackpropResult, type CheckRow, type NumericalResult } from '../gradcheck/check.js';
import type { NumericalRequest } from '../gradcheck/protocol.js';

/** Mean |difference| below this is agreement (float32 backprop lands near 1e-7 on b2). */
export const AGREE = 1e-6;

export class GradcheckPanel {
  private readonly button = byId('gradcheck-button', HTMLButtonElement);
  private readonly sabotage = byId('sabotage', HTMLInputElement);
  private readonly progress = byId('gradcheck-progress');
  private numerical: { seed: number; request: NumericalRequest; result: NumericalResult } | undefined;
  rows: CheckRow[] = [];
  private running = false;

  constructor(private readonly app: App) {
    this.button.disabled = false;
    this.button.addEventListener('click', () => void this.run());
    this.sabotage.addEventListener('change', () => {
      if (this.numerical && !this.running) void this.run();
    });
    const showSettings = () => {
      byId('gc-seed').textContent = String(app.settings.seed);
      byId('gc-plain-net').textContent = plainNetNote(app.settings);
    };
    showSettings();
    app.events.on('settings', showSettings);
  }

  async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.button.disabled = true;
    try {
      const seed = this.app.settings.seed;
      if (this.numerical?.seed !== seed) {
        const request = checkInput(this.app.devices.mnist, seed);
        this.progress.textContent = 'numerical gradient: starting a worker…';
        const t0 = performance.now();
        const result = await numericalInWorker(request, (done, total) => {
          const eta = ((performance.now() - t0) / done) * (total - done);
          this.progress.textContent = `numerical gradient: ${done.toLocaleString('en')} of ${total.toLocaleString('en')} forward passes (${Math.round((100 * done) / total)}%, about ${durationText(eta)} left), in a worker so the page keeps running`;
        });
        this.numerical = { seed, request, result };
      }
      const { request, result } = this.numerical;
      const broken = this.sabotage.checked;
      this.progress.textContent = 'backprop on the CPU and the GPU…';
      const cpu = await backpropOn(this.app.devices.cpu64, request, broken);
      const gpuBackend = this.app.devices.gpu;
      const gpu = gpuBackend ? await this.app.netWork.run(() => backpropOn(gpuBackend, request, broken)) : undefined;
      this.rows = compareAll(result.grads, cpu.grads, gpu?.grads, paramShapes());
      this.render(result, cpu, gpu, broken);
      this.progress.textContent = '';
    } catch (e) {
      this.progress.textContent = `gradient check failed: ${(e as Error).message}`;
      this.app.fail(e);
    } finally {
      this.running = false;
      this.button.disabled = false;
      this.button.textContent = 'Run it again';
    }
  }

  private render(numerical: NumericalResult, cpu: BackpropResult, gpu: BackpropResult | undefined, broken: boolean): void {
    const cell = (d: GradientDiff | undefined) =>
      d ? el('td', { class: `num ${d.meanAbsDiff < AGREE ? 'agree' : 'disagree'}`, title: `max relative difference ${sci(d.maxRelDiff)}` }, sci(d.meanAbsDiff)) : el('td', { class: 'num na' }, 'no WebGPU');
    const table = el(
      'table',
      { class: 'gradcheck' },
      el('thead', {}, el('tr', {}, ...['param', 'shape', 'numerical vs backprop, CPU (f64)', 'numerical vs backprop, GPU (f32)', 'CPU vs GPU backprop'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...this.rows.map((r) => el('tr', { 'data-param': r.param }, el('th', {}, r.param), el('td', {}, r.shape), cell(r.numericalVsCpu), cell(r.numericalVsGpu), cell(r.cpuVsGpu)))),
    );
    const bad = this.rows.filter((r) => r.numericalVsCpu.meanAbsDiff >= AGREE || (r.numericalVsGpu?.meanAbsDiff ?? 0) >= AGREE).map((r) => r.param);
    const verdict = bad.length === 0
      ? 'Backprop agrees with the numerical gradient for every parameter, on both devices.'
      : `${bad.join(', ')} disagree: ${broken ? 'the broken ReLU backward sends wrong gradients to every parameter below it; the ones above it are still right' : 'backprop has a bug'}.`;
    const speedup = numerical.ms / cpu.ms;
    byId('gradcheck-table').replaceChildren(
      table,
      el('p', { class: `verdict ${bad.length ? 'disagree' : 'agree'}` }, verdict),
      el(
        'p',
        { class: 'hint' },
        `The numerical gradient took ${numerical.forwardPasses.toLocaleString('en')} forward passes and ${durationText(numerical.ms)}; ` +
          `backprop, one forward and one backward pass: ${durationText(cpu.ms)} on the CPU` +
          (gpu ? `, ${durationText(gpu.ms)} on the GPU (including the readback)` : '') +
          `. That is ${Math.round(speedup).toLocaleString('en')}× faster, and the reason backprop exists.`,
      ),
      this.valuesOf('b2', numerical, cpu, gpu),
    );
  }

  /** The ten gradients of b2 side by side, so the table's small numbers have something to stand on. */
  private valuesOf(name: string, numerical: NumericalResult, cpu: BackpropResult, gpu: BackpropResult | undefined): HTMLElement {
    const n = numerical.grads.get(name)!;
    const c = cpu.grads.get(name)!;
    const g = gpu?.grads.get(name);
    const fmt = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(8));
    return el(
      'details',
      {},
      el('summary', {}, `the gradient of ${name}, value by value`),
      el(
        'table',
        { class: 'values' },
        el('thead', {}, el('tr', {}, el('th', {}, 'i'), el('th', {}, 'numerical'), el('th', {}, 'backprop CPU'), el('th', {}, 'backprop GPU'))),
        el('tbody', {}, ...Array.from(n, (v, i) => el('tr', {}, el('td', {}, String(i)), el('td', { class: 'num' }, fmt(v)), el('td', { class: 'num' }, fmt(c[i])), el('td', { class: 'num' }, fmt(g?.[i]))))),
      ),
    );
  }
}

/**
 * The check runs gradient_check.py's plain net whatever the training panel says; where that
 * panel uses ch. 6's layers, say that they are left out here and where they are checked.
 */
function plainNetNote(s: Readonly<DemoSettings>): string {
  if (s.net === 'simple-conv') {
    return "It checks the book's two-layer net, not the SimpleConvNet the training panel trains: npm run gradcheck -- --net simple-conv checks the convolution and pooling layers the same way.";
  }
  const layers = [s.batchNorm ? 'BatchNorm' : '', s.dropout > 0 ? 'Dropout' : '', s.weightDecay > 0 ? 'weight decay' : ''].filter(Boolean);
  if (layers.length === 0) return '';
  return (
    `It checks the book's plain net, without the training panel's ${layers.join(', ')} (and an optimizer does not enter a gradient). ` +
    'npm run gradcheck -- --batch-norm --dropout 0.5 checks BatchNorm and Dropout the same way; the test suite also checks weight decay, on both devices.'
  );
}
