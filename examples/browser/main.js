// @ts-check
// The book's TwoLayerNet (784-50-10) trained on MNIST in the page, on WebGPU where the browser
// has it and on the CPU otherwise. `npm run dev` serves it; `npm run build` builds it.
import { CpuBackend, CpuDataset, fetchMnist, GpuBackend, GpuDataset, NoAdapterError, openBrowserGpu, SGD, Trainer, TwoLayerNet } from 'webgpu-backprop';

const log = /** @type {HTMLElement} */ (document.getElementById('log'));
const say = (/** @type {string} */ line) => (log.textContent += `${line}\n`);

async function train() {
  const mnist = await fetchMnist('./mnist/', (loaded, total) => (log.textContent = `MNIST ${Math.round((100 * loaded) / total)}%\n`));
  /** @type {GpuBackend | CpuBackend} */
  let backend;
  try {
    backend = new GpuBackend(await openBrowserGpu());
  } catch (e) {
    if (!(e instanceof NoAdapterError)) throw e;
    say(`${e.message}`);
    backend = new CpuBackend('f32');
  }
  say(`device: ${backend.label}`);
  const sets = backend instanceof GpuBackend
    ? [new GpuDataset(backend, mnist.train), new GpuDataset(backend, mnist.test)]
    : [new CpuDataset(backend, mnist.train), new CpuDataset(backend, mnist.test)];
  const net = new TwoLayerNet(backend, 784, 50, 10);
  const trainer = new Trainer(net, sets[0], sets[1], new SGD(backend, 0.1));
  const result = await trainer.run(
    { steps: 600, batchSize: 100, seed: 42, readEvery: 50 },
    { onProgress: (done, loss) => say(`step ${done}  loss ${loss.toFixed(4)}`) },
  );
  say(result.learning ? `did not learn: ${result.learning.message}` : `test accuracy ${result.epochs.at(-1)?.testAcc.toFixed(4)}`);
}

document.getElementById('train')?.addEventListener('click', () => train().catch((e) => say(`error: ${e.message}`)));
