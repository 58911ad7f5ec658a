import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import type { Backend } from '../src/backend/backend.js';
import { CpuDataset } from '../src/data/cpu-dataset.js';
import type { Dataset } from '../src/data/dataset.js';
import { GpuDataset } from '../src/data/gpu-dataset.js';
import { sliceSplit, type Mnist } from '../src/data/mnist.js';
import { SafetensorsError } from '../src/io/safetensors.js';
import { loadMnist } from '../src/node/load-mnist.js';
import { loadModel, saveModel } from '../src/nn/model-file.js';
import { MultiLayerNet, TwoLayerNet } from '../src/nn/multi-layer-net.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { SGD } from '../src/train/optimizer.js';
import { Trainer } from '../src/train/trainer.js';
import { expectClose } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';

const { gpu } = useGpu();
let mnist: Mnist;

beforeAll(async () => {
  mnist = await loadMnist();
});

// A fixed subset keeps each run to seconds on a software adapter: 5,000 training images, the
// first 1,000 test images.
function subsets() {
  return { train: sliceSplit(mnist.train, 0, 5000), test: sliceSplit(mnist.test, 0, 1000) };
}

function trainerFor<T extends Tensor>(be: Backend<T>, train: Dataset<T>, test: Dataset<T>, seed = 7) {
  const net = new TwoLayerNet(be, 784, 50, 10, 0.01, seed);
  return new Trainer(net, train, test, new SGD(be, 0.1));
}

describe('a short training run learns', () => {
  it.each(['gpu', 'cpu'] as const)('on the %s device', async (device) => {
    const { train, test } = subsets();
    const be: Backend<Tensor> = device === 'gpu' ? gpu() : new CpuBackend('f32');
    const sets = device === 'gpu'
      ? [new GpuDataset(gpu(), train), new GpuDataset(gpu(), test)]
      : [new CpuDataset(be as CpuBackend, train), new CpuDataset(be as CpuBackend, test)];
    const trainer = trainerFor(be, sets[0] as Dataset<Tensor>, sets[1] as Dataset<Tensor>);
    const before = await trainer.evaluate(trainer.test);
    const result = await trainer.run({ steps: 300, batchSize: 100, seed: 1, readEvery: 50, evalEvery: 300 });
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    // ln 10 ≈ 2.30 is the loss of a net that knows nothing; 300 steps reach ~0.5.
    expect(mean(result.losses.subarray(0, 20))).toBeGreaterThan(2.0);
    expect(mean(result.losses.subarray(-50))).toBeLessThan(0.9);
    expect(before).toBeLessThan(0.25);
    expect(result.epochs.at(-1)!.testAcc).toBeGreaterThan(0.8);
    expect(result.msPerStep.length).toBe(6);
    trainer.net.dispose();
    sets.forEach((s) => s.dispose());
  });
});

/**
 * Same seed, same batches: the GPU's f32 arithmetic and the CPU's (f32 storage, f64 sums) round
 * differently, by ~1e-7 relative per op; over 40 steps of SGD that drift stays far below 1e-3.
 */
it('GPU and CPU follow the same loss curve for the first steps', async () => {
  const { train, test } = subsets();
  const cpu = new CpuBackend('f32');
  const g = trainerFor(gpu(), new GpuDataset(gpu(), train), new GpuDataset(gpu(), test), 3);
  const c = trainerFor(cpu, new CpuDataset(cpu, train), new CpuDataset(cpu, test), 3);
  const config = { steps: 40, batchSize: 100, seed: 11, readEvery: 20, evalEvery: 1000 };
  const [gr, cr] = [await g.run(config), await c.run(config)];
  expectClose(gr.losses, cr.losses, 1e-3, 'loss curve');
  g.net.dispose();
});

describe('model files', () => {
  it('save then load gives identical predictions, across devices', async () => {
    const { train, test } = subsets();
    const trainer = trainerFor(gpu(), new GpuDataset(gpu(), train), new GpuDataset(gpu(), test));
    await trainer.run({ steps: 30, batchSize: 50, seed: 2, readEvery: 10, evalEvery: 1000 });
    const bytes = await saveModel(trainer.net);
    const cpu = new CpuBackend('f32');
    const restoredCpu = new TwoLayerNet(cpu, 784, 50, 10, 0.01, 999);
    loadModel(restoredCpu, bytes, 'model.safetensors');
    const restoredGpu = new TwoLayerNet(gpu(), 784, 50, 10, 0.01, 999);
    loadModel(restoredGpu, bytes, 'model.safetensors');
    const { x } = new CpuDataset(cpu, test).range(0, 64);
    const xg = gpu().fromArray(x.data as Float32Array, x.shape);
    const original = await gpu().read(trainer.net.predict(xg));
    expect(await gpu().read(restoredGpu.predict(xg))).toEqual(original);
    expectClose((await cpu.read(restoredCpu.predict(x))) as Float32Array, original, 1e-5, 'CPU predictions from the file');
    for (const net of [trainer.net, restoredGpu]) net.dispose();
    gpu().dispose(xg);
  });

  it('refuses a file for another architecture, naming the tensor and both shapes', async () => {
    const cpu = new CpuBackend('f32');
    const bytes = await saveModel(new MultiLayerNet(cpu, { hiddenSizes: [100] }));
    expect(() => loadModel(new TwoLayerNet(cpu, 784, 50, 10), bytes, 'big.safetensors')).toThrow(
      /big\.safetensors: W1 has shape \[784, 100\] but the network needs \[784, 50\]/,
    );
    const deeper = await saveModel(new MultiLayerNet(cpu, { hiddenSizes: [50, 20] }));
    expect(() => loadModel(new TwoLayerNet(cpu, 784, 50, 10), deeper, 'deep.safetensors')).toThrow(SafetensorsError);
  });

  it('refuses a file that is not safetensors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgb-'));
    writeFileSync(join(dir, 'junk'), 'not a model');
    const cpu = new CpuBackend('f32');
    expect(() => loadModel(new TwoLayerNet(cpu, 784, 50, 10), new TextEncoder().encode('not a model'), 'junk')).toThrow(/^junk: /);
  });
});
