/** CPU vs GPU: the same steps on both devices, their speed ratio and their two loss curves. */
import type { App } from '../app/app.js';
import { byId, durationText, el, sci } from '../app/dom.js';
import { netLabel } from '../app/settings.js';
import { timedRun, type TimedRun } from '../training/timed-run.js';
import { LineChart } from '../ui/line-chart.js';

export interface Comparison {
  steps: number;
  cpu: TimedRun;
  gpu: TimedRun;
  /** CPU ms per step over GPU ms per step: above 1, the GPU is faster. */
  ratio: number;
  maxLossDiff: number;
}

export class ComparePanel {
  private readonly button = byId('compare-button', HTMLButtonElement);
  private readonly status = byId('compare-status');
  private chart: LineChart | undefined;
  last: Comparison | undefined;

  constructor(private readonly app: App) {
    const showSteps = () => (byId('compare-steps').textContent = String(app.settings.compareSteps));
    showSteps();
    app.events.on('settings', showSteps);
    if (!app.devices.gpu) {
      this.status.textContent = 'Needs WebGPU, which this browser does not have.';
      return;
    }
    this.button.disabled = false;
    this.button.addEventListener('click', () => void this.run());
    app.events.on('state', (state) => {
      this.button.disabled = state === 'running' || state === 'pausing';
      this.button.title = this.button.disabled ? 'pause training first: both would share the machine' : '';
    });
  }

  async run(): Promise<void> {
    const gpu = this.app.devices.gpu;
    if (!gpu || this.app.session.isBusy) return;
    const s = this.app.settings;
    const steps = s.compareSteps;
    this.button.disabled = true;
    try {
      this.status.textContent = `${steps} steps on the CPU…`;
      const cpu = await timedRun(this.app.devices.cpu, this.app.devices.on('cpu').train, s, steps);
      this.status.textContent = `${steps} steps on the GPU…`;
      const gpuRun = await this.app.netWork.run(() => timedRun(gpu, this.app.devices.on('gpu').train, s, steps));
      let maxLossDiff = 0;
      for (let i = 0; i < steps; i++) maxLossDiff = Math.max(maxLossDiff, Math.abs(cpu.losses[i]! - gpuRun.losses[i]!));
      this.last = { steps, cpu, gpu: gpuRun, ratio: cpu.msPerStep / gpuRun.msPerStep, maxLossDiff };
      this.render(this.last);
      this.status.textContent = '';
    } catch (e) {
      this.status.textContent = `comparison failed: ${(e as Error).message}`;
      this.app.fail(e);
    } finally {
      this.button.disabled = this.app.session.isBusy;
    }
  }

  private render(c: Comparison): void {
    const software = this.app.devices.gpu!.ctx.adapter.software;
    const gpuWins = c.ratio >= 1;
    const faster = gpuWins ? `The GPU is ${c.ratio.toFixed(1)}× faster than the CPU here` : `The CPU is ${(1 / c.ratio).toFixed(1)}× faster than the GPU here`;
    const why = software
      ? gpuWins
        ? ', although this GPU is a software adapter (SwiftShader): it runs the shaders on all the CPU cores, while the CPU device uses one.'
        : '. This GPU is a software adapter (SwiftShader): it runs the shaders on the CPU cores, behind a GPU API, so plain TypeScript wins.'
      : gpuWins
        ? '.'
        : '. A small batch through a small net is little work per dispatch; larger batches and hidden layers favour the GPU.';
    const s = this.app.settings;
    byId('compare-result').replaceChildren(
      el(
        'table',
        { class: 'compare' },
        el('thead', {}, el('tr', {}, el('th', {}, 'device'), el('th', {}, 'ms per step'), el('th', {}, 'steps/s'))),
        el(
          'tbody',
          {},
          el('tr', { 'data-device': 'cpu' }, el('th', {}, 'CPU (TypeScript, float32)'), el('td', { class: 'num' }, durationText(c.cpu.msPerStep)), el('td', { class: 'num' }, (1000 / c.cpu.msPerStep).toFixed(1))),
          el('tr', { 'data-device': 'gpu' }, el('th', {}, 'GPU (WebGPU)'), el('td', { class: 'num' }, durationText(c.gpu.msPerStep)), el('td', { class: 'num' }, (1000 / c.gpu.msPerStep).toFixed(1))),
        ),
      ),
      el('p', { class: 'verdict' }, faster + why),
      el('p', { class: 'hint' }, `${netLabel(s)}, batch ${s.batch}, steps ${c.cpu.untimed + 1}–${c.steps} timed (the first allocate and warm up). Largest difference between the two loss curves: ${sci(c.maxLossDiff)} (float32 rounding).`),
    );
    this.chart ??= new LineChart(byId('compare-chart'), {
      xLabel: 'step',
      yLabel: 'loss',
      height: 180,
      series: [
        { label: 'CPU', color: '#ff7f0e', width: 3 },
        { label: 'GPU', color: '#1f77b4', width: 1.5, dash: [5, 4] },
      ],
    });
    this.chart.clear();
    for (let i = 0; i < c.steps; i++) this.chart.push(i + 1, c.cpu.losses[i], c.gpu.losses[i]);
  }
}
