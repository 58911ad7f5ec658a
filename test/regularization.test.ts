/**
 * The book's ch. 6 layers inside a net: naming, training vs inference, model files. The kernels
 * are checked in dropout.test.ts and batchnorm.test.ts, the gradients in gradient-check.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { SafetensorsError } from '../src/io/safetensors.js';
import type { BatchNorm } from '../src/nn/batch-norm.js';
import type { Dropout } from '../src/nn/dropout.js';
import type { Affine, Relu } from '../src/nn/layers.js';
import { loadModel, saveModel } from '../src/nn/model-file.js';
import { MultiLayerNet } from '../src/nn/multi-layer-net.js';
import type { CpuTensor } from '../src/tensor/cpu-tensor.js';
import { expectClose, randomArray } from './helpers/compare.js';

const cpu = new CpuBackend('f64');
const small = { inputSize: 6, hiddenSizes: [8, 5], outputSize: 3, weightInit: 'he' as const };

function x(rows = 10) {
  return cpu.fromArray(randomArray(rows * 6, 4, 2), [rows, 6]);
}

const values = (t: CpuTensor) => Array.from(t.data as Float64Array);

describe('a net with BatchNorm and Dropout', () => {
  it('names its tensors as the book does, running statistics after the parameters', () => {
    const net = new MultiLayerNet(cpu, { ...small, batchNorm: true, dropoutRatio: 0.5 });
    expect(net.params().map((p) => p.name)).toEqual(['W1', 'b1', 'gamma1', 'beta1', 'W2', 'b2', 'gamma2', 'beta2', 'W3', 'b3']);
    expect(net.tensors().map((p) => p.name).slice(10)).toEqual(['running_mean1', 'running_var1', 'running_mean2', 'running_var2']);
    const batchNorm = net.layers[1] as BatchNorm<CpuTensor>;
    expect(values(batchNorm.gamma.value)).toEqual(new Array(8).fill(1));
    expect(values(batchNorm.running.variance)).toEqual(new Array(8).fill(0));
  });

  it('drops units only in training, with one mask per step, and scales them at inference', () => {
    const net = new MultiLayerNet(cpu, { ...small, dropoutRatio: 0.5 });
    const input = x();
    const atStep = (step: number) => values(net.predict(input, { train: true, step }));
    expect(atStep(3)).toEqual(atStep(3));
    expect(atStep(3)).not.toEqual(atStep(4));
    const [affine, relu, dropout] = net.layers as [Affine<CpuTensor>, Relu<CpuTensor>, Dropout<CpuTensor>];
    const mask = values(dropout.lastMask!);
    expect(mask.some((m) => m === 0) && mask.some((m) => m === 1)).toBe(true);
    const inference = values(net.predict(input));
    expect(values(net.predict(input))).toEqual(inference);
    expect(dropout.lastMask).toBeUndefined();
    // At inference the first dropout layer passes the plain net's activations (same seed, same
    // weights) times 1 - 0.5.
    const plain = new MultiLayerNet(cpu, small);
    const [plainAffine, plainRelu] = plain.layers as [Affine<CpuTensor>, Relu<CpuTensor>];
    const h1 = values(plainRelu.forward(plainAffine.forward(input)));
    expect(values(dropout.forward(relu.forward(affine.forward(input)), { train: false }))).toEqual(h1.map((v) => v * 0.5));
  });

  it('BatchNorm uses the batch in training and the running statistics at inference', () => {
    const net = new MultiLayerNet(cpu, { ...small, batchNorm: true });
    const input = x(50);
    const trainOut = values(net.predict(input, { train: true }));
    // After one step the running statistics are 0.1 of the batch's: inference differs.
    expect(values(net.predict(input))).not.toEqual(trainOut);
    // Many steps on the same batch bring them to the batch's; inference then agrees to within eps.
    for (let i = 0; i < 300; i++) net.predict(input, { train: true });
    expectClose(values(net.predict(input)), trainOut, 1e-4, 'inference after the running statistics settle');
  });

  it('a model file keeps gamma, beta and the running statistics: inference is identical after loading', async () => {
    const config = { ...small, batchNorm: true, dropoutRatio: 0.2 };
    const net = new MultiLayerNet(cpu, config);
    for (let step = 0; step < 5; step++) net.predict(x(20), { train: true, step });
    const bytes = await saveModel(net);
    const restored = new MultiLayerNet(cpu, { ...config, seed: 1234 });
    const meta = loadModel(restored, bytes, 'bn.safetensors');
    expect(meta).toMatchObject({ batch_norm: 'true', dropout_ratio: '0.2' });
    // Stored as float32: predictions agree to float32 rounding of the weights.
    expectClose(values(restored.predict(x())), values(net.predict(x())), 1e-5, 'predictions');
    expect(() => loadModel(new MultiLayerNet(cpu, small), bytes, 'bn.safetensors')).toThrow(SafetensorsError);
    expect(() => loadModel(new MultiLayerNet(cpu, small), bytes, 'bn.safetensors')).toThrow(/gamma1/);
  });

  it('refuses a dropout ratio outside [0, 1)', () => {
    expect(() => new MultiLayerNet(cpu, { dropoutRatio: 1 })).toThrow(/network: dropout ratio must be in \[0, 1\), got 1/);
    expect(() => new MultiLayerNet(cpu, { dropoutRatio: -0.1 })).toThrow(/dropout ratio/);
  });

  it('backward before a training forward is an error, not a stale mask', () => {
    const net = new MultiLayerNet(cpu, { ...small, batchNorm: true, dropoutRatio: 0.5 });
    net.predict(x());
    const [, batchNorm, , dropout] = net.layers;
    expect(() => dropout!.backward(x(10))).toThrow(/Dropout: backward needs a training forward first/);
    expect(() => batchNorm!.backward(x(10))).toThrow(/BatchNorm gamma1: backward needs a training forward first/);
  });
});
