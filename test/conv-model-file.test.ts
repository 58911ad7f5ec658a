/**
 * A saved SimpleConvNet is readable outside this project: examples/numpy/predict.py parses the
 * safetensors file by hand and runs the book's numpy forward pass (im2col, W as [out, in, kh, kw]
 * like PyTorch's Conv2d); it must score MNIST images as our net does. A layout mix-up (filters
 * stored HWIO, an Affine flattened in H, W, C order) gives other scores.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { CpuDataset } from '../src/data/cpu-dataset.js';
import { sampleIndices, Rng } from '../src/data/rng.js';
import type { Mnist } from '../src/data/mnist.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { loadMnist } from '../src/node/load-mnist.js';
import { SimpleConvNet } from '../src/nn/conv-nets.js';
import { loadModel, saveModel } from '../src/nn/model-file.js';
import { Adam } from '../src/train/optimizer.js';
import { expectClose } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';

const { gpu } = useGpu();
let mnist: Mnist;
let dir: string;
beforeAll(async () => {
  mnist = await loadMnist();
  dir = mkdtempSync(join(tmpdir(), 'conv-model-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a saved SimpleConvNet', () => {
  it('loads in numpy (examples/numpy/predict.py) and scores MNIST images as our net does', async () => {
    const cpu = new CpuBackend('f32');
    const net = new SimpleConvNet(cpu, { seed: 3 });
    // A few Adam steps so that no tensor is still at its initial zeros.
    const train = new CpuDataset(cpu, mnist.train);
    const adam = new Adam(cpu, 0.001);
    const rng = new Rng(1);
    for (let step = 0; step < 3; step++) {
      const { x, t } = train.batch(sampleIndices(rng, train.count, 20));
      net.gradient(x, t, step);
      adam.update(net.params());
    }
    const bytes = await saveModel(net);
    const file = decodeSafetensors(bytes, 'model');
    expect(file.tensors.get('W1')!.shape).toEqual([30, 1, 5, 5]);
    expect(file.metadata.layers).toBe('Conv1(stride=1,pad=0),Relu1,Pool1(2x2,stride=2,pad=0),Affine1,Relu2,Affine2');
    expect(file.metadata.layout).toMatch(/\[out, in, kh, kw\] \(PyTorch Conv2d.weight\)/);

    const n = 16;
    const test = new CpuDataset(cpu, mnist.test);
    const { x } = test.range(0, n);
    const scores = net.predict(x).data as Float32Array;
    writeFileSync(join(dir, 'model.safetensors'), bytes);
    writeFileSync(join(dir, 'images.f32'), x.data as Float32Array);
    const out = execFileSync('python3', ['examples/numpy/predict.py', join(dir, 'model.safetensors'), join(dir, 'images.f32'), String(n)], { encoding: 'utf8' });
    const numpy = JSON.parse(out) as { scores: number[][]; classes: number[] };
    // Both in f32, summed in different orders: a few ULPs of the scores' magnitude.
    expectClose(scores, numpy.scores.flat(), 1e-5, 'numpy scores');
    const ours = Array.from({ length: n }, (_, i) => scores.subarray(i * 10, i * 10 + 10).indexOf(Math.max(...scores.subarray(i * 10, i * 10 + 10))));
    expect(numpy.classes).toEqual(ours);

    // And back into a GPU net: the same scores again.
    const gpuNet = new SimpleConvNet(gpu(), { seed: 99 });
    loadModel(gpuNet, bytes, 'model');
    const gx = gpu().fromArray(x.data, x.shape);
    expectClose(await gpu().read(gpuNet.predict(gx)), scores, 1e-5, 'GPU scores');
    gpuNet.dispose();
    gpu().dispose(gx);
  });
});
