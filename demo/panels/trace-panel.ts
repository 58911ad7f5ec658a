/**
 * The recorded dispatches of one training step (GpuContext's trace, with the layer behind each
 * dispatch): kernel, operand shapes, workgroups and, on request, time per kernel.
 */
import type { App } from '../app/app.js';
import { byId, bytesText, durationText, el } from '../app/dom.js';
import type { StepTrace } from '../trace/dispatch-tagger.js';
import { timeStepKernels, traceFusedStep, traceOneStep, type TimedStep } from '../trace/kernel-timing.js';
import type { StepPhase } from 'webgpu-backprop';

/** While training, the table is redrawn at most this often. */
const REDRAW_MS = 2000;

const PHASE_WORDS: Record<StepPhase, string> = {
  data: 'data',
  forward: 'forward',
  backward: 'backward',
  update: 'update',
  bookkeeping: 'loss',
};

export class TracePanel {
  private readonly button = byId('timing-button', HTMLButtonElement);
  private latest: StepTrace | undefined;
  private timed: TimedStep | undefined;
  private lastDraw = 0;
  /** Dispatches in the table now (the tests read it). */
  shown: StepTrace | undefined;
  /** The fused step's dispatches shown below it, or why the net has none (the tests read it). */
  fused: StepTrace | string | undefined;

  constructor(private readonly app: App) {
    const gpu = app.devices.gpu;
    const tagger = app.tagger;
    if (!gpu || !tagger) {
      this.button.disabled = true;
      byId('trace-table').replaceChildren(el('p', { class: 'notice-inline' }, 'This browser has no WebGPU, so there are no dispatches to show: the CPU device computes each op directly.'));
      return;
    }
    this.button.addEventListener('click', () => void this.time());
    app.events.on('trace', (trace) => {
      this.latest = trace;
      if (!this.shown || this.shown.step < 0 || performance.now() - this.lastDraw > REDRAW_MS) this.draw(trace);
    });
    app.events.on('state', (state) => {
      this.button.disabled = state === 'running' || state === 'pausing';
      if ((state === 'paused' || state === 'done') && this.latest) this.draw(this.latest);
    });
    app.events.on('session', () => {
      this.latest = undefined;
      this.timed = undefined;
      // Before the first step (or on the CPU device) show a step of a scratch copy of the net.
      void app.netWork
        .run(() => traceOneStep(gpu, tagger, app.devices.onGpu().train, app.settings))
        .then((trace) => {
          if (!this.latest) this.draw(trace);
        }, (e) => app.fail(e));
      this.fused = undefined;
      void app.netWork
        .run(() => traceFusedStep(gpu, tagger, app.devices.onGpu().train, app.settings))
        .then((fused) => this.drawFused(fused), (e) => app.fail(e));
    });
  }

  private async time(): Promise<void> {
    const { gpu, tagger } = { gpu: this.app.devices.gpu!, tagger: this.app.tagger! };
    if (this.app.session.isBusy) return;
    this.button.disabled = true;
    const summary = byId('trace-summary');
    try {
      this.timed = await this.app.netWork.run(() =>
        timeStepKernels(gpu, tagger, this.app.devices.onGpu().train, this.app.settings, 10, (done, total) => {
          summary.textContent = `timing kernel ${done + 1} of ${total} (each run 10 times, waited for by the CPU clock)…`;
        }),
      );
      this.draw(this.timed.trace);
    } catch (e) {
      this.app.fail(e);
    } finally {
      this.button.disabled = this.app.session.isBusy;
    }
  }

  private drawFused(fused: StepTrace | string): void {
    this.fused = fused;
    const box = byId('fused-trace');
    if (typeof fused === 'string') {
      box.replaceChildren(el('p', { class: 'notice-inline' }, `This net has no fused step: ${fused}.`));
      return;
    }
    const rows = fused.dispatches.map((d, i) => {
      const [name, flags] = splitKernel(d.kernel);
      return el(
        'tr',
        { class: `phase-${d.phase}` },
        el('td', { class: 'num' }, String(i + 1)),
        el('td', {}, d.layer),
        el('td', { class: 'kernel' }, el('code', {}, name), flags ? el('span', { class: 'flags' }, flags) : null),
        el('td', { class: 'shapes' }, d.shapes),
        el('td', { class: 'num' }, d.workgroups.join('×')),
      );
    });
    const head = ['#', 'what', 'kernel', 'operands → result', 'workgroups'];
    box.replaceChildren(
      el('p', {}, `${fused.dispatches.length} dispatches for the same step (the Trainer adds one to file the loss), against the ${this.shown?.dispatches.length ?? '…'} above.`),
      el('table', { class: 'trace' }, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))), el('tbody', {}, ...rows)),
    );
  }

  private draw(trace: StepTrace): void {
    this.lastDraw = performance.now();
    this.shown = trace;
    const timing = this.timed && this.timed.trace === trace ? this.timed : undefined;
    const slowest = timing ? Math.max(...timing.kernelMs.filter(Number.isFinite), 1e-9) : 1;
    const rows = trace.dispatches.map((d, i) => {
      const [name, flags] = splitKernel(d.kernel);
      const ms = timing?.kernelMs[i];
      return el(
        'tr',
        { class: `phase-${d.phase}` },
        el('td', { class: 'num' }, String(i + 1)),
        el('td', {}, el('span', { class: `phase phase-${d.phase}` }, PHASE_WORDS[d.phase])),
        el('td', {}, d.layer),
        el('td', { class: 'kernel' }, el('code', {}, name), flags ? el('span', { class: 'flags' }, flags) : null),
        el('td', { class: 'shapes' }, d.shapes),
        el('td', { class: 'num' }, d.workgroups.join('×')),
        el('td', { class: 'num time' }, ms === undefined ? '' : Number.isFinite(ms) ? el('span', {}, el('span', { class: 'time-bar', style: `width:${Math.round((60 * ms) / slowest)}px` }), durationText(ms)) : '–'),
      );
    });
    const head = ['#', 'phase', 'layer', 'kernel', 'operands → result', 'workgroups', timing ? 'time' : 'time (press “Time each kernel”)'];
    byId('trace-table').replaceChildren(
      el('table', { class: 'trace' }, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))), el('tbody', {}, ...rows)),
    );
    const count = (phase: StepPhase) => trace.dispatches.filter((d) => d.phase === phase).length;
    const pool = this.app.devices.gpu!.ctx.pool.stats();
    const which = trace.step >= 0 ? `training step ${trace.step + 1}` : 'a step of a scratch copy of the net (no training step yet)';
    let text = `${which}: ${trace.dispatches.length} dispatches in one submit (forward ${count('forward')}, backward ${count('backward')}, update ${count('update')}); GPU memory ${bytesText(pool.bytesInUse)} in use, ${bytesText(pool.bytesAllocated)} allocated.`;
    if (timing) {
      const sum = timing.kernelMs.filter(Number.isFinite).reduce((a, b) => a + b, 0);
      text += ` Kernels add up to ${durationText(sum)}; a whole step, submitted and waited for, takes ${durationText(timing.stepMs)}.`;
    }
    byId('trace-summary').textContent = text;
  }
}

/** 'matmul.matmul_blocked:blocked4[TRANS_A=0,…]' → name and override constants. */
function splitKernel(kernel: string): [string, string] {
  const at = kernel.indexOf('[');
  return at < 0 ? [kernel, ''] : [kernel.slice(0, at), kernel.slice(at + 1, -1).replaceAll(',', ' ')];
}
