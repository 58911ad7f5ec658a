/**
 * The book's `self.layers`: a net is an ordered list of layers that forward walks in order and
 * backward in reverse. A hand-built list must compute exactly what the book's nets compute, and
 * the builders must name and order their layers and tensors as the book does.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { dropoutSeed } from '../src/kernels/dropout.js';
import type { Dropout } from '../src/nn/dropout.js';
import { preparesFor, type ForwardMode, type Layer, type LayerNeeds, type NamedTensor, type Param } from '../src/nn/layer.js';
import { Affine, Relu, SoftmaxWithLoss } from '../src/nn/layers.js';
import { loadModel, saveModel } from '../src/nn/model-file.js';
import { MultiLayerNet, TwoLayerNet } from '../src/nn/multi-layer-net.js';
import { Sequential } from '../src/nn/sequential.js';
import { DeepConvNet, SimpleConvNet } from '../src/nn/conv-nets.js';
import type { CpuTensor } from '../src/tensor/cpu-tensor.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { backpropGradients, compareGradients } from '../src/train/gradient-check.js';
import { numericalGradients } from '../src/train/numerical-gradient.js';
import { expectClose, randomArray } from './helpers/compare.js';

const cpu = new CpuBackend('f64');
const values = (t: CpuTensor) => Array.from(t.data);

function batch(rows: number, cols: number, classes: number, seed: number) {
  const x = cpu.fromArray(randomArray(rows * cols, seed), [rows, cols]);
  const t = cpu.labels(Array.from({ length: rows }, (_, i) => (i * 7 + seed) % classes), classes);
  return { x, t };
}

/** Affine1 → Relu1 → Affine2 + SoftmaxWithLoss, by hand, on copies of `net`'s weights. */
function handBuilt(net: MultiLayerNet<CpuTensor>, weightDecay = 0): Sequential<CpuTensor> {
  const copy = (p: Param<CpuTensor>) => cpu.fromArray(p.value.data, p.value.shape);
  const [W1, b1, W2, b2] = net.params() as [Param<CpuTensor>, Param<CpuTensor>, Param<CpuTensor>, Param<CpuTensor>];
  const layers = [
    new Affine(cpu, copy(W1), copy(b1), { name: 'Affine1', paramNames: ['W1', 'b1'], data: {} }),
    new Relu(cpu, 'Relu1'),
    new Affine(cpu, copy(W2), copy(b2), { name: 'Affine2', paramNames: ['W2', 'b2'] }),
  ];
  return new Sequential(cpu, layers, new SoftmaxWithLoss(cpu), { weightDecay });
}

/** Another layer, noting each call to it. */
class Recording<T extends Tensor> implements Layer<T> {
  readonly name: string;

  constructor(
    private readonly inner: Layer<T>,
    private readonly log: string[],
  ) {
    this.name = inner.name;
  }

  forward(x: T, mode: ForwardMode): T {
    this.log.push(`forward ${this.name} train=${mode.train} step=${mode.step}`);
    return this.inner.forward(x, mode);
  }

  backward(dout: T): T | undefined {
    this.log.push(`backward ${this.name}`);
    return this.inner.backward(dout);
  }

  params(): Param<T>[] {
    return this.inner.params();
  }

  state(): NamedTensor<T>[] {
    return this.inner.state();
  }

  kernels(): LayerNeeds {
    return this.inner.kernels();
  }

  dispose(): void {
    this.inner.dispose();
  }
}

describe('a Sequential built by hand', () => {
  it.each([
    ["the book's TwoLayerNet", new TwoLayerNet(cpu, 12, 8, 5, 0.5, 3), 0],
    ['a MultiLayerNet with weight decay', new MultiLayerNet(cpu, { inputSize: 12, hiddenSizes: [8], outputSize: 5, weightInit: 'he', weightDecay: 0.1, seed: 3 }), 0.1],
  ] as const)('computes exactly what %s computes: predict, loss, gradient', (_, net, weightDecay) => {
    const seq = handBuilt(net, weightDecay);
    const { x, t } = batch(6, 12, 5, 1);
    expect(seq.outputSize).toBe(5);
    expect(values(seq.predict(x))).toEqual(values(net.predict(x)));
    expect(values(seq.loss(x, t))).toEqual(values(net.loss(x, t)));
    expect(values(seq.gradient(x, t))).toEqual(values(net.gradient(x, t)));
    const theirs = net.params();
    seq.params().forEach((p, i) => {
      expect(p.name).toBe(theirs[i]!.name);
      expect(values(p.grad!), p.name).toEqual(values(theirs[i]!.grad!));
    });
    seq.dispose();
  });

  it('forwards through its layers in order and backwards in reverse, passing the mode on', () => {
    const log: string[] = [];
    const net = new TwoLayerNet(cpu, 4, 3, 2, 0.5);
    // Wrapped, the Affine layers are not recognised as such: the class count must be given.
    const seq = new Sequential(cpu, net.layers.map((l) => new Recording(l, log)), net.lastLayer, { outputSize: 2 });
    const { x, t } = batch(3, 4, 2, 2);
    seq.gradient(x, t, 7);
    expect(log).toEqual([
      'forward Affine1 train=true step=7',
      'forward Relu1 train=true step=7',
      'forward Affine2 train=true step=7',
      'backward Affine2',
      'backward Relu1',
      'backward Affine1',
    ]);
    log.length = 0;
    seq.predict(x);
    expect(log).toEqual(['forward Affine1 train=false step=undefined', 'forward Relu1 train=false step=undefined', 'forward Affine2 train=false step=undefined']);
  });

  it('says which layers are at fault when a layer in the middle computes no input gradient', () => {
    const net = new TwoLayerNet(cpu, 4, 3, 2, 0.5);
    const seq = new Sequential(cpu, [new Relu<CpuTensor>(cpu, 'Relu0'), ...net.layers], net.lastLayer);
    const { x, t } = batch(3, 4, 2, 2);
    expect(() => seq.gradient(x, t)).toThrow('Affine1 computes no input gradient, but Relu0 before it needs one');
  });

  it('is what the gradient check and a model file take', async () => {
    const seq = handBuilt(new TwoLayerNet(cpu, 6, 4, 3, 0.5));
    const { x, t } = batch(4, 6, 3, 5);
    const diffs = compareGradients(await backpropGradients(seq, x, t), numericalGradients(seq, x, t));
    for (const d of diffs) expect(d.maxRelDiff, d.name).toBeLessThan(2e-5);

    const bytes = await saveModel(seq);
    expect(decodeSafetensors(bytes).metadata).toMatchObject({ format: 'webgpu-backprop', layers: 'Affine1,Relu1,Affine2' });
    const other = handBuilt(new TwoLayerNet(cpu, 6, 4, 3, 0.5, 99));
    loadModel(other, bytes, 'seq.safetensors');
    // Stored as float32: predictions agree to float32 rounding of the weights.
    expectClose(values(other.predict(x)), values(seq.predict(x)), 1e-6, 'predictions after loading');
  });

  it('the numerical gradient refuses a model off the CPU, as it always has', () => {
    const offCpu = { backend: { device: 'gpu' } as Backend<CpuTensor>, params: () => [], loss: () => expect.fail('no loss is computed') };
    const { x, t } = batch(2, 4, 2, 1);
    expect(() => numericalGradients(offCpu, x, t)).toThrow('numericalGradient runs on the CPU backend (use a CpuBackend net)');
  });
});

describe("MultiLayerNet's list", () => {
  const config = { inputSize: 6, hiddenSizes: [8, 5], outputSize: 3, weightInit: 'he' as const, batchNorm: true, dropoutRatio: 0.5, seed: 11 };

  it("names its layers and tensors in the book's order", () => {
    const net = new MultiLayerNet(cpu, config);
    expect(net.layers.map((l) => l.name)).toEqual(['Affine1', 'BatchNorm1', 'Relu1', 'Dropout1', 'Affine2', 'BatchNorm2', 'Relu2', 'Dropout2', 'Affine3']);
    expect(net.params().map((p) => p.name)).toEqual(['W1', 'b1', 'gamma1', 'beta1', 'W2', 'b2', 'gamma2', 'beta2', 'W3', 'b3']);
    expect(net.tensors().map((p) => p.name)).toEqual([
      ...['W1', 'b1', 'gamma1', 'beta1', 'W2', 'b2', 'gamma2', 'beta2', 'W3', 'b3'],
      ...['running_mean1', 'running_var1', 'running_mean2', 'running_var2'],
    ]);
    expect(new MultiLayerNet(cpu, { ...config, activation: 'sigmoid', batchNorm: false, dropoutRatio: 0 }).layers.map((l) => l.name)).toEqual([
      'Affine1',
      'Sigmoid1',
      'Affine2',
      'Sigmoid2',
      'Affine3',
    ]);
  });

  it('declares the kernels its layers need, for a GPU to prepare', () => {
    const none = { dropout: false, batchNorm: false, conv: false, pooling: false, convPool: false };
    expect(preparesFor(new MultiLayerNet(cpu, config).layers)).toEqual({ ...none, dropout: true, batchNorm: true });
    expect(preparesFor(new MultiLayerNet(cpu, { ...config, batchNorm: false }).layers)).toEqual({ ...none, dropout: true });
    expect(preparesFor(new TwoLayerNet(cpu, 4, 3, 2).layers)).toEqual(none);
    expect(preparesFor(new SimpleConvNet(cpu, { inputDim: [1, 8, 8], filterNum: 2, filterSize: 3, hiddenSize: 4 }).layers)).toEqual({ ...none, convPool: true });
    expect(preparesFor(new SimpleConvNet(cpu, { inputDim: [1, 8, 8], filterNum: 2, filterSize: 3, hiddenSize: 4, fused: false }).layers)).toEqual({ ...none, conv: true, pooling: true });
    // Its fused blocks after the first pass gradients back: through the pooling and col2im.
    expect(preparesFor(new DeepConvNet(cpu, { inputDim: [1, 8, 8] }).layers)).toEqual({ ...none, dropout: true, conv: true, pooling: true, convPool: true });
  });

  it("draws each Dropout layer's mask from the net's seed, the layer's index and the step", () => {
    const net = new MultiLayerNet(cpu, config);
    const dropouts = net.layers.filter((l): l is Dropout<CpuTensor> => l.name.startsWith('Dropout'));
    expect(dropouts.map((d) => d.name)).toEqual(['Dropout1', 'Dropout2']);
    dropouts.forEach((dropout, i) => {
      // A mask depends on the element's index and the seed only, not on the values.
      const h = cpu.fromArray(new Float64Array(40).fill(1), [10, 4]);
      dropout.forward(h, { train: true, step: 5 });
      expect(values(dropout.lastMask!), dropout.name).toEqual(values(cpu.dropoutForward(h, 0.5, dropoutSeed(config.seed, i, 5)).mask));
    });
  });
});
