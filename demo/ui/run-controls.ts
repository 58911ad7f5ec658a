/**
 * The "run it here" controls of an experiment panel: a device select, Run and Stop buttons and a
 * status line. One run at a time, none while training holds the machine; on the GPU a run
 * queues with the panels' other device work. The panel supplies what a run does.
 */
import type { App } from '../app/app.js';
import type { DeviceName } from '../app/settings.js';

export interface RunControlElements {
  run: HTMLButtonElement;
  stop: HTMLButtonElement;
  device: HTMLSelectElement;
  status: HTMLElement;
  /** The panel's own settings (steps, epochs): locked while a run goes. */
  inputs: readonly HTMLInputElement[];
}

export interface RunHandlers {
  /** Checks the panel's inputs before a run; false when one is wrong (the panel says which). */
  validate(): boolean;
  /** The run itself. A throw ends up in the status line and the page's error notice. */
  run(device: DeviceName): Promise<void>;
}

export class RunControls {
  running = false;
  /** Set by Stop; a run polls it (e.g. as the trainer's `shouldStop`). */
  stopRequested = false;
  runsStarted = 0;
  /** The message of the latest run's failure; null when it did not fail. */
  error: string | null = null;

  constructor(
    private readonly app: App,
    private readonly els: RunControlElements,
    private readonly handlers: RunHandlers,
  ) {
    const gpuOption = els.device.querySelector<HTMLOptionElement>('option[value="gpu"]')!;
    gpuOption.disabled = !app.devices.hasGpu;
    // Starts on the training panel's device and follows it when that changes there.
    let trainingDevice = app.settings.device;
    els.device.value = app.devices.hasGpu ? trainingDevice : 'cpu';
    app.events.on('settings', (s) => {
      if (s.device === trainingDevice) return;
      trainingDevice = s.device;
      if (!this.running && (s.device === 'cpu' || app.devices.hasGpu)) els.device.value = s.device;
    });
    els.run.addEventListener('click', () => void this.start());
    els.stop.addEventListener('click', () => {
      this.stopRequested = true;
      els.stop.disabled = true;
    });
    app.events.on('state', () => this.render());
    this.render();
  }

  setStatus(text: string): void {
    this.els.status.textContent = text;
  }

  /**
   * Runs `job` on the device: on the GPU behind the panels' queued device work, so training
   * started meanwhile waits for it instead of interleaving submits with it.
   */
  onDevice<R>(device: DeviceName, job: () => Promise<R>): Promise<R> {
    if (device === 'cpu') return job();
    this.setStatus('waiting for the GPU…');
    return this.app.netWork.run(job);
  }

  /** A click while a run is going is ignored, as is one while training holds the machine. */
  private async start(): Promise<void> {
    if (this.running || this.app.session.isBusy || !this.handlers.validate()) return;
    const device: DeviceName = this.els.device.value === 'gpu' && this.app.devices.hasGpu ? 'gpu' : 'cpu';
    this.running = true;
    this.stopRequested = false;
    this.runsStarted++;
    this.error = null;
    this.render();
    try {
      await this.handlers.run(device);
    } catch (e) {
      this.error = (e as Error).message;
      this.setStatus(`The run failed: ${this.error}`);
      this.app.fail(e);
    } finally {
      this.running = false;
      this.render();
    }
  }

  private render(): void {
    const trainingBusy = this.app.session.isBusy;
    const { run, stop, device, inputs } = this.els;
    run.disabled = this.running || trainingBusy;
    run.title = trainingBusy && !this.running ? 'pause training first: both would share the machine' : '';
    stop.disabled = !this.running || this.stopRequested;
    device.disabled = this.running;
    for (const input of inputs) input.disabled = this.running;
  }
}
