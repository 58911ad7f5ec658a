import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { GpuBackend } from '../src/backend/gpu-backend.js';
import { MultiLayerNet, TwoLayerNet, type NetConfig } from '../src/nn/multi-layer-net.js';
import type { CpuTensor } from '../src/tensor/cpu-tensor.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { backpropGradients, compareGradients, largestValue } from '../src/train/gradient-check.js';
import { numericalGradients } from '../src/train/numerical-gradient.js';
import { randomArray } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';

const { gpu } = useGpu();

function batch<T extends Tensor>(be: Backend<T>, rows: number, cols: number, classes: number, seed: number) {
  const x = be.fromArray(randomArray(rows * cols, seed), [rows, cols]);
  const t = be.labels(Array.from({ length: rows }, (_, i) => (i * 7 + seed) % classes), classes);
  return { x, t };
}

/** Worst relative difference between backprop and central differences on the f64 CPU backend. */
async function backpropVsNumerical(be: Backend<CpuTensor>, config: Partial<NetConfig>, rows = 4) {
  const net = new MultiLayerNet(be, config);
  const { x, t } = batch(be, rows, net.config.inputSize, net.config.outputSize, 3);
  const numerical = numericalGradients(net, x, t);
  const backprop = await backpropGradients(net, x, t);
  return Math.max(...compareGradients(backprop, numerical, ZERO_GRADIENT_FLOOR * largestValue(numerical)).map((d) => d.maxRelDiff));
}

/**
 * A bias right before BatchNorm has a gradient of exactly zero (BatchNorm subtracts it again):
 * its rounding noise is measured against this fraction of the net's largest gradient instead.
 */
const ZERO_GRADIENT_FLOOR = 1e-3;

// Central differences with h = 1e-4 carry a truncation error O(h²·f''') ~ 1e-8 absolute, and the
// book's loss has a 1e-7 inside its log that backprop's (y - t)/batch leaves out; against
// gradients of order 1e-3 that is up to ~1e-5 relative. A wrong backward (a missing mask,
// transpose or 1/batch) is off by order 1 (the sabotage tests below need > 1e-3).
const F64_TOLERANCE = 2e-5;

const NETS: [string, Partial<NetConfig>][] = [
  ['TwoLayerNet-like 12-8-5 relu', { inputSize: 12, hiddenSizes: [8], outputSize: 5, activation: 'relu', weightInit: 'he' }],
  ['3 hidden layers, sigmoid, xavier', { inputSize: 9, hiddenSizes: [7, 6, 5], outputSize: 4, activation: 'sigmoid', weightInit: 'xavier' }],
  ['2 hidden layers, relu, std 0.5', { inputSize: 6, hiddenSizes: [10, 3], outputSize: 3, activation: 'relu', weightInit: 0.5 }],
  ['weight decay λ = 0.1 (loss and gradient)', { inputSize: 8, hiddenSizes: [6, 5], outputSize: 4, activation: 'relu', weightInit: 'he', weightDecay: 0.1 }],
  ['BatchNorm, 2 hidden layers, relu', { inputSize: 7, hiddenSizes: [6, 5], outputSize: 4, activation: 'relu', weightInit: 'he', batchNorm: true }],
  ['Dropout 0.3, 2 hidden layers, relu', { inputSize: 7, hiddenSizes: [12, 10], outputSize: 4, activation: 'relu', weightInit: 'he', dropoutRatio: 0.3 }],
  [
    'BatchNorm + Dropout 0.5 + weight decay, sigmoid',
    { inputSize: 6, hiddenSizes: [8, 6], outputSize: 3, activation: 'sigmoid', weightInit: 'xavier', batchNorm: true, dropoutRatio: 0.5, weightDecay: 0.05 },
  ],
];

describe('backprop agrees with the numerical gradient (f64 CPU)', () => {
  it.each(NETS)('%s', async (_, config) => {
    expect(await backpropVsNumerical(new CpuBackend('f64'), config)).toBeLessThan(F64_TOLERANCE);
  });

  it('TwoLayerNet is the book\'s: W1 b1 W2 b2, std 0.01, zero biases', async () => {
    const be = new CpuBackend('f64');
    const net = new TwoLayerNet(be, 20, 6, 3);
    expect(net.params().map((p) => [p.name, ...p.value.shape])).toEqual([['W1', 20, 6], ['b1', 6], ['W2', 6, 3], ['b2', 3]]);
    const w1 = net.params()[0]!.value.data as Float64Array;
    const std = Math.sqrt(w1.reduce((s, v) => s + v * v, 0) / w1.length);
    expect(std).toBeGreaterThan(0.007);
    expect(std).toBeLessThan(0.013);
    expect([...(net.params()[1]!.value.data as Float64Array)]).toEqual(new Array(6).fill(0));
    const { x, t } = batch(be, 3, 20, 3, 1);
    const numerical = numericalGradients(net, x, t);
    const diffs = compareGradients(await backpropGradients(net, x, t), numerical);
    for (const d of diffs) expect(d.maxRelDiff, d.name).toBeLessThan(F64_TOLERANCE);
  });
});

/**
 * Sabotaged backends: the check must notice each classic backprop bug. Square layers (every
 * size 5, batch 5) make a missing transpose shape-compatible, so it gives wrong numbers instead
 * of a shape error.
 */
describe('the gradient check catches broken backwards', () => {
  const square: Partial<NetConfig> = { inputSize: 5, hiddenSizes: [5, 5], outputSize: 5, activation: 'relu', weightInit: 'he' };

  function sabotaged(patch: Partial<Backend<CpuTensor>>): Backend<CpuTensor> {
    const be = new CpuBackend('f64');
    return Object.assign(Object.create(be) as CpuBackend, patch);
  }

  it('ReLU backward that ignores the mask', async () => {
    const be = sabotaged({ reluBackward: (dy) => dy });
    expect(await backpropVsNumerical(be, square, 5)).toBeGreaterThan(1e-3);
  });

  it('ReLU mask taken as x >= 0 applied to the wrong side (inverted)', async () => {
    const real = new CpuBackend('f64');
    const be = sabotaged({ reluBackward: (dy, mask) => real.reluBackward(dy, real.fromArray((mask.data as Float64Array).map((m) => 1 - m), mask.shape)) });
    expect(await backpropVsNumerical(be, square, 5)).toBeGreaterThan(1e-3);
  });

  it('a missing transpose in dW = xᵀ·dout', async () => {
    const real = new CpuBackend('f64');
    const be = sabotaged({ matmul: (a, b, args = {}) => real.matmul(a, b, { ...args, transA: false }) });
    expect(await backpropVsNumerical(be, square, 5)).toBeGreaterThan(1e-3);
  });

  it('a missing transpose in dx = dout·Wᵀ', async () => {
    const real = new CpuBackend('f64');
    const be = sabotaged({ matmul: (a, b, args = {}) => real.matmul(a, b, { ...args, transB: false }) });
    expect(await backpropVsNumerical(be, square, 5)).toBeGreaterThan(1e-3);
  });

  it('Dropout backward that ignores the mask', async () => {
    const be = sabotaged({ dropoutBackward: (dy) => dy });
    expect(await backpropVsNumerical(be, { ...square, hiddenSizes: [12, 10], dropoutRatio: 0.5 }, 5)).toBeGreaterThan(1e-3);
  });

  it('BatchNorm backward without the batch-mean terms (as if mean and variance were constants)', async () => {
    const real = new CpuBackend('f64');
    const be = sabotaged({
      batchNormBackward: (dy, xn, invStd, gamma) => {
        const out = real.batchNormBackward(dy, xn, invStd, gamma);
        const [rows, cols] = dy.shape as [number, number];
        const d = out.dx.data as Float64Array;
        for (let i = 0; i < d.length; i++) d[i] = (dy.data as Float64Array)[i]! * (gamma.data as Float64Array)[i % cols]! * (invStd.data as Float64Array)[i % cols]!;
        expect(rows).toBeGreaterThan(1);
        return out;
      },
    });
    expect(await backpropVsNumerical(be, { ...square, batchNorm: true }, 5)).toBeGreaterThan(1e-3);
  });

  it('a dropped 1/batch in the softmax-with-loss gradient', async () => {
    const real = new CpuBackend('f64');
    const be = sabotaged({
      softmaxCrossEntropyBackward: (probs, t) => {
        const dx = real.softmaxCrossEntropyBackward(probs, t);
        (dx.data as Float64Array).forEach((v, i, a) => (a[i] = v * probs.shape[0]!));
        return dx;
      },
    });
    expect(await backpropVsNumerical(be, square, 5)).toBeGreaterThan(1e-3);
  });
});

/**
 * GPU (f32) backprop against CPU (f64) backprop with the same weights and data. Each value
 * passes through a few float32 matmuls (dot products of length <= 64 here), each good to about
 * K·eps32 ≈ 4e-6 relative; 1e-4 of the largest gradient leaves room for the loss's log/exp and
 * still fails for any real bug, which moves gradients by order 1.
 */
describe('GPU backprop agrees with CPU f64 backprop', () => {
  it.each(NETS)('%s', async (_, config) => {
    const cpuBe = new CpuBackend('f64');
    const cpuNet = new MultiLayerNet(cpuBe, config);
    const gpuNet = new MultiLayerNet(gpu(), config);
    const rows = 17;
    const data = batch(cpuBe, rows, cpuNet.config.inputSize, cpuNet.config.outputSize, 5);
    const g = batch(gpu() as GpuBackend, rows, cpuNet.config.inputSize, cpuNet.config.outputSize, 5);
    const reference = await backpropGradients(cpuNet, data.x, data.t);
    // A bias before BatchNorm: the GPU's gradient is a float32 sum over the batch of BatchNorm's
    // dx, which cancels to zero from terms up to 1/σ ≈ 100× the net's largest gradient, leaving
    // noise of ~rows·eps32·100 ≈ 1e-4 of it; measured against 1e-2 of the scale that is ~2e-5.
    const diffs = compareGradients(await backpropGradients(gpuNet, g.x, g.t), reference, 10 * ZERO_GRADIENT_FLOOR * largestValue(reference));
    for (const d of diffs) expect(d.maxRelDiff, d.name).toBeLessThan(1e-4);
    gpuNet.dispose();
    gpu().dispose(g.x, g.t);
  });
});

describe('weight decay', () => {
  it('adds 0.5·λ·Σ‖W‖² to the loss and λ·W to each weight gradient, biases untouched', async () => {
    const be = new CpuBackend('f64');
    const config = { inputSize: 5, hiddenSizes: [4], outputSize: 3, weightInit: 'he' as const };
    const plain = new MultiLayerNet(be, config);
    const decayed = new MultiLayerNet(be, { ...config, weightDecay: 0.3 });
    const { x, t } = batch(be, 6, 5, 3, 2);
    const l0 = (plain.loss(x, t).data as Float64Array)[0]!;
    const l1 = (decayed.loss(x, t).data as Float64Array)[0]!;
    const squares = plain.params().filter((p) => p.name.startsWith('W')).reduce((s, p) => s + (p.value.data as Float64Array).reduce((a, v) => a + v * v, 0), 0);
    expect(l1 - l0).toBeCloseTo(0.5 * 0.3 * squares, 12);
    const g0 = await backpropGradients(plain, x, t);
    const g1 = await backpropGradients(decayed, x, t);
    for (const p of plain.params()) {
      const w = p.value.data as Float64Array;
      g1.get(p.name)!.forEach((v, i) => expect(v - g0.get(p.name)![i]!).toBeCloseTo(p.name.startsWith('W') ? 0.3 * w[i]! : 0, 12));
    }
  });

  it('refuses a negative or non-finite λ', () => {
    expect(() => new MultiLayerNet(new CpuBackend('f64'), { weightDecay: -1 })).toThrow(/weight decay must be a finite number >= 0/);
    expect(() => new MultiLayerNet(new CpuBackend('f64'), { weightDecay: NaN })).toThrow(/weight decay/);
  });
});
