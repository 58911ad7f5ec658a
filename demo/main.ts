/**
 * The demo page: loads MNIST and compiles the GPU pipelines side by side, falls back to the CPU
 * device when the browser has no WebGPU, then hands a training session to the panels.
 */
import { fetchMnist } from 'webgpu-backprop';
import { App } from './app/app.js';
import { el } from './app/dom.js';
import { parseSettings } from './app/settings.js';
import { installTestHook } from './app/test-hook.js';
import { Devices } from './engine/devices.js';
import { openGpu } from './engine/open-gpu.js';
import { ActivationsPanel } from './panels/activations-panel.js';
import { ChartsPanel } from './panels/charts-panel.js';
import { ComparePanel } from './panels/compare-panel.js';
import { CrossoverPanel } from './panels/crossover-panel.js';
import { InitPanel } from './panels/init-panel.js';
import { OptimizersPanel } from './panels/optimizers-panel.js';
import { OverfittingPanel } from './panels/overfitting-panel.js';
import { DeviceCard } from './panels/device-card.js';
import { DrawPanel } from './panels/draw-panel.js';
import { FeatureMapsPanel } from './panels/feature-maps-panel.js';
import { FiltersPanel } from './panels/filters-panel.js';
import { ShiftChart } from './panels/shift-chart.js';
import { GradcheckPanel } from './panels/gradcheck-panel.js';
import { LoadingPanel } from './panels/loading-panel.js';
import { TestStrip } from './panels/test-strip.js';
import { TracePanel } from './panels/trace-panel.js';
import { TrainPanel } from './panels/train-panel.js';
import { WeightsPanel } from './panels/weights-panel.js';
import { DispatchTagger } from './trace/dispatch-tagger.js';
import { showNotice } from './ui/notices.js';

async function boot(): Promise<void> {
  const { settings, problems } = parseSettings(location.search);
  if (problems.length) showNotice('warning', 'Some settings in the URL were ignored:', `${problems.join('; ')}.`, 'bad-settings');

  const loading = new LoadingPanel();
  const mnistReady = fetchMnist(new URL('mnist/', document.baseURI).href, (loaded, total) => loading.mnist(loaded, total)).then((mnist) => {
    loading.mnistDone(mnist.train.count, mnist.test.count);
    return mnist;
  });
  const gpuReady = openGpu((done, total) => loading.compile(done, total));
  const [mnist, opening] = await Promise.all([mnistReady, gpuReady]);

  if (opening.ok) {
    loading.compileDone(opening.gpu.ctx.pipelines.size);
    if (opening.gpu.ctx.adapter.software) showNotice('info', 'This GPU is a software adapter.', softwareAdapterAdvice(), 'software-gpu');
  } else {
    loading.noGpu();
    showNotice(
      'warning',
      'No WebGPU in this browser.',
      `${opening.reason} The page has switched to the CPU device: the same layers, in plain TypeScript. ` +
        'The GPU column of the gradient check, the dispatch trace and the CPU-vs-GPU race need WebGPU.',
      'no-webgpu',
    );
    settings.device = 'cpu';
  }
  const gpu = opening.ok ? opening.gpu : null;
  const app = new App(new Devices(mnist, gpu), settings, gpu ? new DispatchTagger(gpu.ctx) : null);
  app.events.on('error', (e) => showNotice('error', 'Something went wrong:', e.message));

  new DeviceCard(app);
  new TrainPanel(app);
  new ChartsPanel(app);
  const weights = new WeightsPanel(app);
  const maps = new FeatureMapsPanel(app);
  const panels = {
    draw: new DrawPanel(app, maps),
    maps,
    filters: new FiltersPanel(app),
    shift: new ShiftChart(),
    strip: new TestStrip(app),
    activations: new ActivationsPanel(app, (probe) => weights.showActivity(probe)),
    gradcheck: new GradcheckPanel(app),
    trace: new TracePanel(app),
    compare: new ComparePanel(app),
  };
  new CrossoverPanel();
  const init = new InitPanel(app.devices.cpu);
  const optimizers = new OptimizersPanel(app);
  const overfitting = new OverfittingPanel(app);
  installTestHook(app, { ...panels, init, optimizers, overfitting });
  if (gpu) void gpu.ctx.lost.then((reason) => offerWaysOn(app, reason));
  app.announce();
  loading.finish();
  if (settings.autostart) void app.start();
}

/** After a device loss (driver reset, GPU unplugged): carry the run on rather than leave a dead page. */
function offerWaysOn(app: App, reason: string): void {
  const onCpu = el('button', { type: 'button', id: 'continue-on-cpu' }, 'Continue on the CPU');
  const reload = el('button', { type: 'button', id: 'reload-gpu' }, 'Reload with a new GPU device');
  const notice = showNotice(
    'error',
    'The GPU device was lost.',
    el(
      'span',
      {},
      `(${reason}) Training stopped. The run can go on from its last evaluation (weights, step and minibatch order kept) on the CPU device, or the page can reload and start this run again on a new GPU device. `,
      onCpu,
      ' ',
      reload,
    ),
    'gpu-lost',
  );
  onCpu.addEventListener('click', () => {
    notice.remove();
    void app.continueOnCpu().catch((e: unknown) => app.fail(e));
  });
  reload.addEventListener('click', () => location.reload());
}

/** What to do when WebGPU runs on the CPU cores (SwiftShader, lavapipe): a link to a short run. */
function softwareAdapterAdvice(): Node {
  const quick = new URL(location.href);
  for (const [key, value] of Object.entries({ steps: '300', evalSubset: '1000', evalEvery: '100' })) quick.searchParams.set(key, value);
  return el(
    'span',
    {},
    'It runs the shaders on the CPU cores, far slower than a hardware GPU, so the book\'s 10,000 steps with accuracy on all 70,000 images every epoch take minutes. ',
    el('a', { href: quick.href }, 'A short run'),
    ' (300 steps, accuracy on 1,000 images) shows the same things sooner.',
  );
}

window.addEventListener('unhandledrejection', (e) => showNotice('error', 'Something went wrong:', String((e.reason as Error)?.message ?? e.reason)));
boot().catch((e: Error) => {
  console.error(e);
  showNotice('error', 'The page could not start:', e.message);
});
