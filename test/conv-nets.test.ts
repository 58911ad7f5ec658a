/**
 * The book's ch. 7-8 nets: backprop through Convolution and Pooling agrees with the numerical
 * gradient (f64 CPU), the GPU agrees with the CPU, a sabotaged backward is caught, and the nets
 * are built with the book's shapes and names.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import type { PoolArgs } from '../src/backend/ops.js';
import { Convolution, Pooling } from '../src/nn/conv-layers.js';
import { DeepConvNet, SimpleConvNet } from '../src/nn/conv-nets.js';
import { bookLayers } from '../src/nn/conv-relu-pool.js';
import { Affine } from '../src/nn/layers.js';
import { Sequential } from '../src/nn/sequential.js';
import type { CpuTensor } from '../src/tensor/cpu-tensor.js';
import { ShapeError, type Shape } from '../src/tensor/shape.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { backpropGradients, compareGradients, largestValue } from '../src/train/gradient-check.js';
import { numericalGradient, numericalGradients } from '../src/train/numerical-gradient.js';
import { randomArray } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';
import { twoConvNet } from './helpers/two-conv-net.js';
import { GpuDataset } from '../src/data/gpu-dataset.js';
import { sliceSplit } from '../src/data/mnist.js';
import { loadMnist } from '../src/node/load-mnist.js';
import { preparesFor } from '../src/nn/layer.js';
import { Adam } from '../src/train/optimizer.js';

const { gpu } = useGpu();

/** A batch of `n` images of shape `image` in [0, scale) and labels, the same on every backend. */
function images<T extends Tensor>(be: Backend<T>, n: number, image: Shape, seed: number, scale = 1) {
  const size = image.reduce((a, b) => a * b, 1);
  const x = be.fromArray(randomArray(n * size, seed).map((v) => ((v + 1) / 2) * scale), [n, ...image]);
  const t = be.labels(Array.from({ length: n }, (_, i) => (i * 3 + seed) % 10), 10);
  return { x, t };
}

// Central differences with h = 1e-6 in f64: truncation ~h² and rounding ~1e-16/h, both far below
// 1e-6. The book's h = 1e-4 is too coarse for convnets: a bias moves every unit of its channel by
// h, and across hundreds of ReLU units one lies within 1e-4 of its kink, which bends the
// difference quotient by ~1e-3. The book's loss also has a 1e-7 inside its log that backprop
// leaves out: ~1e-7/y relative for a class of probability y, up to ~1e-5 here.
// A wrong backward is off by order 1.
const F64_TOLERANCE = 1e-4;
const H = 1e-6;

/** Worst difference, relative to the net's largest gradient, of backprop against central differences. */
async function backpropVsNumerical<T extends Tensor>(net: Sequential<T>, x: T, t: T, sample?: number): Promise<number> {
  const backprop = await backpropGradients(net, x, t);
  let numerical: Map<string, Float64Array>;
  if (sample === undefined) {
    numerical = numericalGradients(net, x, t, H);
  } else {
    // Big nets: probe the first `sample` coordinates of each parameter and compare those.
    const lossValue = () => (net.loss(x, t, { train: true, step: 0 }) as unknown as CpuTensor).data[0]!;
    numerical = new Map(net.params().map((p) => [p.name, numericalGradient(lossValue, ((p.value as unknown as CpuTensor).data as Float64Array).subarray(0, sample), H)]));
    for (const [name, g] of backprop) backprop.set(name, g.subarray(0, sample));
  }
  const floor = largestValue(numerical);
  return Math.max(...compareGradients(backprop, numerical, floor).map((d) => d.maxRelDiff));
}

describe('backprop through Convolution and Pooling agrees with the numerical gradient (f64 CPU)', () => {
  it("the book's ch. 7 check: SimpleConvNet, 1x10x10 input, 10 filters 3x3, hidden 10", async () => {
    const cpu = new CpuBackend('f64');
    const net = new SimpleConvNet(cpu, { inputDim: [1, 10, 10], filterNum: 10, filterSize: 3, hiddenSize: 10, weightInitStd: 0.3, seed: 3 });
    const { x, t } = images(cpu, 2, [1, 10, 10], 7);
    expect(await backpropVsNumerical(net, x, t)).toBeLessThan(F64_TOLERANCE);
  });

  it('SimpleConvNet with 3 channels, stride 2, pad 2 and 5x5 filters', async () => {
    const cpu = new CpuBackend('f64');
    const net = new SimpleConvNet(cpu, { inputDim: [3, 11, 9], filterNum: 4, filterSize: 5, stride: 2, pad: 2, hiddenSize: 6, weightInitStd: 0.3, seed: 4 });
    const { x, t } = images(cpu, 3, [3, 11, 9], 8);
    expect(await backpropVsNumerical(net, x, t)).toBeLessThan(F64_TOLERANCE);
  });

  it('two convolutions (the data gradient, col2im), a non-square filter and overlapping 3x3 pooling of stride 1', async () => {
    const cpu = new CpuBackend('f64');
    for (const pool of [{ poolH: 2, poolW: 2, stride: 2 }, { poolH: 3, poolW: 3, stride: 1 }]) {
      const net = twoConvNet(cpu, { pool });
      const { x, t } = images(cpu, 2, [3, 7, 6], 9);
      expect(await backpropVsNumerical(net, x, t)).toBeLessThan(F64_TOLERANCE);
    }
  });

  it('DeepConvNet (six convs, three poolings, dropout), on 12x12 images, first coordinates of every parameter', async () => {
    const cpu = new CpuBackend('f64');
    const net = new DeepConvNet(cpu, { inputDim: [1, 12, 12], seed: 6 });
    const { x, t } = images(cpu, 2, [1, 12, 12], 10);
    expect(await backpropVsNumerical(net, x, t, 12)).toBeLessThan(F64_TOLERANCE);
  });
});

/** The CPU backend with one backward op replaced by a plausible wrong one. */
class WrongCol2im extends CpuBackend {
  override convBackwardData(dout: CpuTensor, w: CpuTensor, xShape: Shape, args = {}) {
    const dx = super.convBackwardData(dout, w, xShape, args);
    // Every gradient lands one column to the right of where it belongs: an off-by-one in col2im.
    const d = dx.data as Float64Array;
    d.copyWithin(1, 0, d.length - 1);
    return dx;
  }
}

class PoolingIgnoresArgmax extends CpuBackend {
  override maxPoolBackward(dy: CpuTensor, argmax: CpuTensor, xShape: Shape, args: PoolArgs) {
    // Each gradient spread evenly over its window, as for average pooling.
    const dx = super.maxPoolBackward(dy, argmax, xShape, args);
    const [n, c, h, w] = xShape as number[];
    const [oh, ow] = [dy.shape[2]!, dy.shape[3]!];
    const d = dx.data as Float64Array;
    d.fill(0);
    const area = args.poolH * args.poolW;
    const stride = args.stride ?? 1;
    for (let p = 0; p < n! * c!; p++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          const g = (dy.data as Float64Array)[(p * oh + i) * ow + j]! / area;
          for (let a = 0; a < args.poolH; a++) for (let b = 0; b < args.poolW; b++) d[(p * h! + i * stride + a) * w! + j * stride + b]! += g;
        }
      }
    }
    return dx;
  }
}

describe('a wrong backward fails the gradient check', () => {
  it.each([
    ['col2im off by one', () => new WrongCol2im('f64')],
    ['pooling backward that ignores the argmax', () => new PoolingIgnoresArgmax('f64')],
  ])('%s', async (_, make) => {
    const be = make();
    const net = twoConvNet(be);
    const { x, t } = images(be, 2, [3, 7, 6], 9);
    expect(await backpropVsNumerical(net, x, t)).toBeGreaterThan(1e-2);
  });
});

describe('the GPU computes the CPU gradients (f32 against f64)', () => {
  it("SimpleConvNet with the book's sizes on 28x28 images, batch 4", async () => {
    const cpu = new CpuBackend('f64');
    // std 0.1 rather than the book's 0.01: gradients well above f32 rounding, so the comparison is tight.
    // The GPU runs Conv1 → Relu1 → Pool1 fused (the default), the CPU as the book's three layers.
    const config = { weightInitStd: 0.1, seed: 12 };
    const cpuNet = new SimpleConvNet(cpu, { ...config, fused: false });
    const gpuNet = new SimpleConvNet(gpu(), config);
    await gpu().prepare([], preparesFor(gpuNet.layers));
    const c = images(cpu, 4, [784], 13);
    const g = images(gpu(), 4, [784], 13);
    const expected = await backpropGradients(cpuNet, c.x, c.t);
    const actual = await backpropGradients(gpuNet, g.x, g.t);
    for (const d of compareGradients(actual, expected, 1e-3 * largestValue(expected))) expect(d.maxRelDiff, d.name).toBeLessThan(2e-3);
    gpuNet.dispose();
    gpu().dispose(g.x, g.t);
  });

  it('DeepConvNet on 16x16 images, batch 2, dropout masks included', async () => {
    const cpu = new CpuBackend('f64');
    const config = { inputDim: [1, 16, 16] as const, seed: 14 };
    const cpuNet = new DeepConvNet(cpu, config);
    const gpuNet = new DeepConvNet(gpu(), config);
    const c = images(cpu, 2, [1, 16, 16], 15);
    const g = images(gpu(), 2, [1, 16, 16], 15);
    const expected = await backpropGradients(cpuNet, c.x, c.t);
    const actual = await backpropGradients(gpuNet, g.x, g.t);
    for (const d of compareGradients(actual, expected, 1e-3 * largestValue(expected))) expect(d.maxRelDiff, d.name).toBeLessThan(2e-3);
    gpuNet.dispose();
    gpu().dispose(g.x, g.t);
  });
});

describe('DeepConvNet learns on the GPU', () => {
  // Without its dropout, whose masks on the 10 outputs make a loss of 8 images jump by ±0.3 from
  // step to step: the convolutions' gradients are what this checks.
  it('its loss on a fixed batch of 8 MNIST images falls by half within 15 Adam steps (dropout off)', async () => {
    const mnist = await loadMnist();
    const be = gpu();
    const net = new DeepConvNet(be, { seed: 21, dropoutRatio: 0 });
    await be.prepare([], preparesFor(net.layers));
    const { x, t } = new GpuDataset(be, sliceSplit(mnist.train, 0, 8)).range(0, 8);
    const adam = new Adam(be, 0.001);
    const losses: number[] = [];
    for (let step = 0; step < 15; step++) {
      const loss = net.gradient(x, t, step);
      adam.update(net.params());
      losses.push((await be.read(loss))[0]!);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]!);
    net.dispose();
    be.dispose(x, t);
  });
});

describe("the book's nets", () => {
  it("SimpleConvNet: the book's layers, parameter names and shapes, std 0.01 and zero biases", async () => {
    const cpu = new CpuBackend('f64');
    const net = new SimpleConvNet(cpu);
    expect(bookLayers(net.layers).map((l) => l.name)).toEqual(['Conv1', 'Relu1', 'Pool1', 'Affine1', 'Relu2', 'Affine2']);
    expect(net.params().map((p) => [p.name, p.value.shape])).toEqual([
      ['W1', [30, 1, 5, 5]],
      ['b1', [30]],
      ['W2', [4320, 100]],
      ['b2', [100]],
      ['W3', [100, 10]],
      ['b3', [10]],
    ]);
    const w2 = net.params()[2]!.value.data as Float64Array;
    const std = Math.sqrt(w2.reduce((s, v) => s + v * v, 0) / w2.length);
    expect(std).toBeGreaterThan(0.0095);
    expect(std).toBeLessThan(0.0105);
    expect([...(net.params()[1]!.value.data as Float64Array)].every((v) => v === 0)).toBe(true);
  });

  it("DeepConvNet: the book's six 3x3 convs (16/16/32/32/64/64, pads 1 1 1 2 1 1), He scales, 1024-50-10", () => {
    const cpu = new CpuBackend('f64');
    const net = new DeepConvNet(cpu);
    expect(net.params().filter((p) => p.name.startsWith('W')).map((p) => p.value.shape)).toEqual([
      [16, 1, 3, 3],
      [16, 16, 3, 3],
      [32, 16, 3, 3],
      [32, 32, 3, 3],
      [64, 32, 3, 3],
      [64, 64, 3, 3],
      [1024, 50],
      [50, 10],
    ]);
    const layers = bookLayers(net.layers);
    expect(layers.filter((l) => l instanceof Convolution).map((l) => (l as Convolution<CpuTensor>).args.pad)).toEqual([1, 1, 1, 2, 1, 1]);
    expect(layers.map((l) => l.name).filter((n) => n.startsWith('Pool') || n.startsWith('Dropout'))).toEqual(['Pool1', 'Pool2', 'Pool3', 'Dropout1', 'Dropout2']);
    const w6 = net.params()[10]!.value.data as Float64Array;
    const std = Math.sqrt(w6.reduce((s, v) => s + v * v, 0) / w6.length);
    expect(Math.abs(std / Math.sqrt(2 / (64 * 9)) - 1)).toBeLessThan(0.03);
  });

  it('views a batch of flat rows as images without copying, and refuses rows of another size', () => {
    const cpu = new CpuBackend('f64');
    const net = new SimpleConvNet(cpu, { inputDim: [1, 10, 10], filterNum: 2, filterSize: 3, hiddenSize: 4 });
    const flat = images(cpu, 3, [100], 1);
    const shaped = cpu.reshape(flat.x, [3, 1, 10, 10]);
    expect([...(net.predict(flat.x).data as Float64Array)]).toEqual([...(net.predict(shaped).data as Float64Array)]);
    expect(() => net.predict(cpu.zeros([3, 99]))).toThrow(new ShapeError('network: input [3, 99] is not a batch of samples of shape [1, 10, 10]'));
  });

  it('Affine flattens an image batch as the book does and hands back dx in its shape', () => {
    const cpu = new CpuBackend('f64');
    const W = cpu.fromArray(randomArray(24 * 5, 2), [24, 5]);
    const affine = new Affine(cpu, W, cpu.zeros([5]));
    const x = cpu.fromArray(randomArray(2 * 24, 3), [2, 2, 3, 4]);
    const y = affine.forward(x);
    expect(y.shape).toEqual([2, 5]);
    expect([...(y.data as Float64Array)]).toEqual([...(affine.forward(cpu.reshape(x, [2, 24])).data as Float64Array)]);
    affine.forward(x);
    expect(affine.backward(cpu.fromArray(randomArray(10, 4), [2, 5]))!.shape).toEqual([2, 2, 3, 4]);
  });

  it('refuses a conv or pooling that does not fit, naming the shapes', () => {
    const cpu = new CpuBackend('f64');
    const x = cpu.zeros([2, 3, 5, 5]);
    expect(() => cpu.convForward(x, cpu.zeros([4, 2, 3, 3]), cpu.zeros([4]))).toThrow('convForward: filters W [4, 2, 3, 3] have 2 input channels, x [2, 3, 5, 5] has 3');
    expect(() => cpu.convForward(x, cpu.zeros([4, 3, 7, 3]), cpu.zeros([4]))).toThrow('convForward: a height window of 7 does not fit an input height of 5 with pad 0');
    expect(() => cpu.convForward(x, cpu.zeros([4, 3, 3, 3]), cpu.zeros([3]))).toThrow('convForward: bias b [3] must have shape [4], one per filter');
    expect(() => cpu.convForward(cpu.zeros([2, 75]), cpu.zeros([4, 3, 3, 3]), cpu.zeros([4]))).toThrow(/convForward input x \(N, C, H, W\): expected a rank-4 tensor, got shape \[2, 75\]/);
    expect(() => cpu.convForward(x, cpu.zeros([4, 3, 3, 3]), cpu.zeros([4]), { stride: 0 })).toThrow('convForward: stride must be an integer >= 1, got 0');
    expect(() => cpu.maxPoolForward(x, { poolH: 6, poolW: 2 })).toThrow('maxPoolForward: a height window of 6 does not fit an input height of 5 with pad 0');
    expect(() => new SimpleConvNet(cpu, { inputDim: [1, 4, 4], filterSize: 5 })).toThrow('SimpleConvNet: a window of 5 with pad 0 does not fit an input side of 4');
  });
});
