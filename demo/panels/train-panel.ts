/**
 * The settings form, Train / Pause / Reset, the progress line and the shareable link. A change in
 * the form starts a fresh net with the new settings and rewrites the URL.
 */
import type { App } from '../app/app.js';
import { byId, durationText, percent } from '../app/dom.js';
import { appliesTo, cliCommand, fieldText, isConvNet, iterPerEpoch, setField, toQuery, withNet, type DemoSettings } from '../app/settings.js';
import { updateRule } from '../app/update-rules.js';
import { netName } from '../engine/nets.js';
import type { SessionState } from '../training/session.js';

const FIELDS = ['net', 'hidden', 'activation', 'init', 'batchNorm', 'dropout', 'optimizer', 'lr', 'weightDecay', 'batch', 'steps', 'seed'] as const;

export class TrainPanel {
  private readonly form = byId('settings-form', HTMLFormElement);
  private readonly start = byId('start-button', HTMLButtonElement);
  private readonly pause = byId('pause-button', HTMLButtonElement);
  private readonly reset = byId('reset-button', HTMLButtonElement);
  private readonly bar = byId('train-progress', HTMLProgressElement);
  private readonly status = byId('train-status');
  private readonly runStart = { time: 0, step: 0 };
  private stepsPerSec = NaN;
  private lastLoss = NaN;
  private lastTestAcc: number | undefined;

  constructor(private readonly app: App) {
    this.showSettings(app.settings);
    this.form.addEventListener('change', (e) => void this.onChange(e.target));
    this.form.addEventListener('submit', (e) => e.preventDefault());
    this.start.addEventListener('click', () => void app.start());
    this.pause.addEventListener('click', () => app.pause());
    this.reset.addEventListener('click', () => void app.reset());
    byId('copy-link').addEventListener('click', () => void this.copyLink());
    if (!app.devices.hasGpu) {
      const gpu = this.form.querySelector<HTMLInputElement>('input[name="device"][value="gpu"]')!;
      gpu.disabled = true;
      gpu.parentElement!.title = 'This browser has no WebGPU';
    }

    app.events.on('session', (s) => {
      this.lastLoss = NaN;
      this.lastTestAcc = undefined;
      this.stepsPerSec = NaN;
      this.showSettings(s.settings);
      this.render(s.state);
    });
    app.events.on('state', (state) => {
      if (state === 'running') Object.assign(this.runStart, { time: performance.now(), step: app.session.step });
      this.render(state);
    });
    app.events.on('losses', (w) => {
      this.lastLoss = w.losses[w.losses.length - 1]!;
      this.stepsPerSec = w.stepsPerSec;
      this.render(app.session.state);
    });
    app.events.on('eval', (p) => {
      this.lastTestAcc = p.testAcc;
      this.render(app.session.state);
    });
  }

  private showSettings(s: Readonly<DemoSettings>): void {
    for (const name of FIELDS) {
      const input = this.form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
      if (isCheckbox(input)) input.checked = fieldText(s as DemoSettings, name) === '1';
      else input.value = fieldText(s as DemoSettings, name);
      input.classList.remove('invalid');
      input.title = '';
    }
    for (const radio of this.form.querySelectorAll<HTMLInputElement>('input[name="device"]')) radio.checked = radio.value === s.device;
    // A convnet is built as the book builds it: the MLP's fields step aside (styles.css hides them).
    this.form.dataset.net = s.net;
    byId('cli-command').textContent = cliCommand(s as DemoSettings);
    byId('step-explainer').textContent = explainStep(s);
    const query = toQuery(s as DemoSettings);
    history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
  }

  private async onChange(target: EventTarget | null): Promise<void> {
    if (!(target instanceof HTMLInputElement || target instanceof HTMLSelectElement)) return;
    let next: DemoSettings = { ...this.app.settings, hidden: [...this.app.settings.hidden] };
    try {
      setField(next, target.name as keyof DemoSettings, isCheckbox(target) ? (target.checked ? '1' : '0') : target.value);
      // Another net brings its own defaults (a convnet: Adam, lr 0.001), as npm start --net does.
      if (next.net !== this.app.settings.net) next = withNet(this.app.settings, next.net);
    } catch (e) {
      target.classList.add('invalid');
      target.title = `must be ${(e as Error).message}`;
      return;
    }
    target.classList.remove('invalid');
    await this.app.reset(next);
  }

  private render(state: SessionState): void {
    const s = this.app.session;
    const total = s.settings.steps;
    const busy = state === 'running' || state === 'pausing';
    this.start.disabled = busy || state === 'done' || state === 'failed';
    this.start.textContent = state === 'paused' ? 'Resume' : 'Train';
    this.pause.disabled = state !== 'running';
    this.reset.disabled = busy;
    this.form.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select').forEach((input) => {
      input.disabled =
        busy || (input.name === 'device' && input.value === 'gpu' && !this.app.devices.hasGpu) || !appliesTo(input.name as keyof DemoSettings, s.settings.net);
    });
    this.bar.value = s.stepsRead / total;

    const epoch = s.stepsRead / iterPerEpoch(s.settings);
    const parts = [`step ${s.stepsRead.toLocaleString('en')} / ${total.toLocaleString('en')}`, `epoch ${epoch.toFixed(2)}`];
    if (Number.isFinite(this.lastLoss)) parts.push(`loss ${this.lastLoss.toFixed(3)}`);
    if (this.lastTestAcc !== undefined) parts.push(`test accuracy ${percent(this.lastTestAcc)}`);
    if (busy && Number.isFinite(this.stepsPerSec)) {
      parts.push(`${this.stepsPerSec.toFixed(this.stepsPerSec < 10 ? 1 : 0)} steps/s`);
      parts.push(`about ${durationText(((total - s.stepsRead) / this.stepsPerSec) * 1000)} left`);
    }
    const words: Record<SessionState, string> = {
      ready: `Ready: ${netName(s.net)} on the ${s.backend.device.toUpperCase()}. Press Train.`,
      running: 'Training',
      pausing: 'Pausing',
      paused: 'Paused',
      done: s.learning ? `Done, but the net did not learn: ${s.learning.message}` : 'Done',
      failed: `Stopped: ${s.error?.message ?? 'failed'}`,
    };
    this.status.textContent = state === 'ready' ? words.ready : `${words[state]} · ${parts.join(' · ')}`;
    this.status.dataset.state = state;
    this.status.dataset.learning = s.learning?.kind ?? '';
  }

  private async copyLink(): Promise<void> {
    const out = byId('copy-result');
    try {
      await navigator.clipboard.writeText(location.href);
      out.textContent = 'copied';
    } catch {
      out.textContent = location.href;
    }
  }
}

function isCheckbox(input: HTMLInputElement | HTMLSelectElement): input is HTMLInputElement {
  return input instanceof HTMLInputElement && input.type === 'checkbox';
}

/** One training step in words, with this run's numbers. */
function explainStep(s: Readonly<DemoSettings>): string {
  if (isConvNet(s)) return explainConvStep(s);
  const act = s.activation === 'relu' ? 'Relu' : 'Sigmoid';
  const hiddenLayer = ['Affine', ...(s.batchNorm ? ['BatchNorm'] : []), act, ...(s.dropout > 0 ? ['Dropout'] : [])];
  const layers = [...s.hidden.flatMap(() => hiddenLayer), 'Affine', 'SoftmaxWithLoss'];
  const decay = s.weightDecay > 0 ? ` (plus ½·${s.weightDecay}·‖W‖² for each weight matrix, which adds ${s.weightDecay}·W to each ∂loss/∂W)` : '';
  const dropout = s.dropout > 0 ? ` Dropout switches off a random ${percentOf(s.dropout)} of the hidden units in each step (a new draw each step) and none when testing.` : '';
  const batchNorm = s.batchNorm ? ' BatchNorm normalizes each unit over the minibatch while training, over its running mean and variance when testing.' : '';
  return (
    `Each step takes ${s.batch} random training images, runs them forward through ${layers.join(' → ')} to a loss${decay}, ` +
    `then backward through the same layers to get ∂loss/∂W for every weight, and moves each weight against its gradient: ` +
    `${updateRule(s.optimizer, s.lr)}.${batchNorm}${dropout} One epoch is ${iterPerEpoch(s)} steps.`
  );
}

function percentOf(ratio: number): string {
  return `${+(100 * ratio).toFixed(2)}%`;
}

/** SimpleConvNet's step in words: what its convolution and pooling do, and the update. */
function explainConvStep(s: Readonly<DemoSettings>): string {
  const layers = ['Convolution', 'Relu', 'Pooling', 'Affine', 'Relu', 'Affine', 'SoftmaxWithLoss'];
  return (
    `Each step takes ${s.batch} random training images as ${s.batch}×1×28×28, runs them forward through ${layers.join(' → ')} to a loss ` +
    `(Conv1 slides each of 30 filters of 5×5 over the image, 30 feature maps of 24×24 per image; Pool1 keeps the largest value of each 2×2 window, 12×12), ` +
    `then backward through the same layers (Pool1 routes each gradient to the pixel that won its window; Conv1 gets ∂loss/∂W for its filters from the positions that won), ` +
    `Conv1, Relu1 and Pool1 running as one fused layer (Conv+Relu+Pool in the trace: the 24×24 maps are never stored), ` +
    `and moves each weight against its gradient: ${updateRule(s.optimizer, s.lr)}. One epoch is ${iterPerEpoch(s)} steps.`
  );
}
