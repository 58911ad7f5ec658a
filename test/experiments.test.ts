import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { initActivations } from '../src/experiments/init-activations.js';
import { useGpu } from './helpers/gpu.js';

const { gpu } = useGpu();
const cpu = new CpuBackend('f32');

const stds = async (activation: 'sigmoid' | 'relu', init: 'xavier' | 'he' | number) =>
  (await initActivations(cpu, activation, init)).layers.map((l) => l.std);

describe("the book's initialization experiment reproduces its findings", () => {
  it('ReLU: std 0.01 vanishes layer by layer, Xavier shrinks, He keeps the spread', async () => {
    const small = await stds('relu', 0.01);
    const xavier = await stds('relu', 'xavier');
    const he = await stds('relu', 'he');
    expect(small[4]! / small[0]!).toBeLessThan(1e-3);
    expect(xavier[4]! / xavier[0]!).toBeLessThan(0.5);
    expect(he[4]! / he[0]!).toBeGreaterThan(0.6);
    expect(he[4]! / he[0]!).toBeLessThan(1.6);
  });

  it('sigmoid: std 1 saturates at 0 and 1, std 0.01 collapses to 0.5, Xavier keeps a spread', async () => {
    const saturated = await initActivations(cpu, 'sigmoid', 1);
    const last = saturated.layers.at(-1)!;
    const total = last.histogram.reduce((a, b) => a + b, 0);
    expect((last.histogram[0]! + last.histogram.at(-1)!) / total).toBeGreaterThan(0.4);
    const collapsed = await stds('sigmoid', 0.01);
    const xavier = await stds('sigmoid', 'xavier');
    expect(collapsed[4]!).toBeLessThan(0.05);
    expect(xavier[4]!).toBeGreaterThan(3 * collapsed[4]!);
  });

  it('the GPU gives the CPU statistics', async () => {
    const g = await initActivations(gpu(), 'relu', 'he');
    const c = await initActivations(cpu, 'relu', 'he');
    g.layers.forEach((l, i) => expect(l.std).toBeCloseTo(c.layers[i]!.std, 4));
  });
});

describe("the book's optimizer comparison reproduces its finding", () => {
  it('SGD falls slowest; AdaGrad and Adam fastest (same weights, same batches)', async () => {
    const { loadMnist } = await import('../src/node/load-mnist.js');
    const { sliceSplit } = await import('../src/data/mnist.js');
    const { CpuDataset } = await import('../src/data/cpu-dataset.js');
    const { compareOptimizers, finalLevel } = await import('../src/experiments/optimizer-comparison.js');
    const mnist = await loadMnist();
    const train = new CpuDataset(cpu, sliceSplit(mnist.train, 0, 3000));
    const test = new CpuDataset(cpu, sliceSplit(mnist.test, 0, 200));
    const curves = await compareOptimizers(cpu, train, test, 200);
    const level = Object.fromEntries(curves.map((c) => [c.optimizer, finalLevel(c, 50)]));
    expect(curves.map((c) => c.losses.length)).toEqual([200, 200, 200, 200]);
    // Every optimizer learns here, SGD too: none may be reported as a run that did not learn.
    expect(curves.map((c) => c.learning)).toEqual([null, null, null, null]);
    expect(level.sgd!).toBeGreaterThan(level.momentum!);
    expect(level.sgd!).toBeGreaterThan(1.5 * level.adagrad!);
    expect(level.sgd!).toBeGreaterThan(1.5 * level.adam!);
  });
});
