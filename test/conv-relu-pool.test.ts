/**
 * The fused Conv → Relu → Pool layer gives the book's three layers' values and gradients (CPU f64
 * exactly, GPU f32 against them), passes the numerical gradient check, and a fused backward that
 * ignores the argmax fails it. fuseConvReluPool replaces exactly the runs it can.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import type { ConvArgs, PoolArgs } from '../src/backend/ops.js';
import { Convolution, Pooling } from '../src/nn/conv-layers.js';
import { DeepConvNet, SimpleConvNet } from '../src/nn/conv-nets.js';
import { bookLayers, ConvReluPool, fuseConvReluPool } from '../src/nn/conv-relu-pool.js';
import { preparesFor, type Layer } from '../src/nn/layer.js';
import { Affine, Relu } from '../src/nn/layers.js';
import { Sequential } from '../src/nn/sequential.js';
import { CpuTensor } from '../src/tensor/cpu-tensor.js';
import { convGeometry } from '../src/backend/geometry.js';
import { POOL_NONE } from '../src/kernels/pooling.js';
import type { Shape } from '../src/tensor/shape.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { backpropGradients, compareGradients, largestValue } from '../src/train/gradient-check.js';
import { numericalGradients } from '../src/train/numerical-gradient.js';
import { randomArray } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';
import { twoConvNet } from './helpers/two-conv-net.js';

const { gpu } = useGpu();

/** n images of shape `image` with values in [0, 1) (a share of them exact zeros, as MNIST's), and labels. */
function images<T extends Tensor>(be: Backend<T>, n: number, image: Shape, seed: number) {
  const size = image.reduce((a, b) => a * b, 1);
  const x = be.fromArray(randomArray(n * size, seed).map((v) => Math.max(0, v)), [n, ...image]);
  const t = be.labels(Array.from({ length: n }, (_, i) => (i * 7 + seed) % 10), 10);
  return { x, t };
}

async function lossOf<T extends Tensor>(net: Sequential<T>, x: T, t: T): Promise<number> {
  return (await net.backend.read(net.loss(x, t)))[0]!;
}

/** Fused and unfused nets on the same batch: their losses and every parameter's gradient. */
async function expectSameAsUnfused<T extends Tensor>(fused: Sequential<T>, unfused: Sequential<T>, x: T, t: T, tol: number): Promise<void> {
  expect(fused.layers.some((l) => l instanceof ConvReluPool)).toBe(true);
  expect(unfused.layers.some((l) => l instanceof ConvReluPool)).toBe(false);
  const [a, b] = [await lossOf(fused, x, t), await lossOf(unfused, x, t)];
  expect(Math.abs(a - b)).toBeLessThanOrEqual(tol * Math.abs(b));
  const expected = await backpropGradients(unfused, x, t);
  const actual = await backpropGradients(fused, x, t);
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  for (const d of compareGradients(actual, expected, 1e-3 * largestValue(expected))) expect(d.maxRelDiff, d.name).toBeLessThan(tol);
}

describe('ConvReluPool computes what Conv → Relu → Pool computes (CPU f64)', () => {
  const cpu = new CpuBackend('f64');

  it.each([
    ["SimpleConvNet with the book's ch. 7 check sizes (1x10x10, 10 filters 3x3)", { inputDim: [1, 10, 10] as const, filterNum: 10, filterSize: 3, hiddenSize: 10 }],
    ['SimpleConvNet with 3 channels, stride 2, pad 2, 5x5 filters (odd conv output: the pooling floors)', { inputDim: [3, 11, 9] as const, filterNum: 4, filterSize: 5, stride: 2, pad: 2, hiddenSize: 6 }],
  ])('%s', async (_, config) => {
    const make = (fused: boolean) => new SimpleConvNet(cpu, { ...config, weightInitStd: 0.3, seed: 3, fused });
    const { x, t } = images(cpu, 3, config.inputDim, 7);
    await expectSameAsUnfused(make(true), make(false), x, t, 1e-12);
  });

  it.each([
    ['2x2 stride 2', { poolH: 2, poolW: 2, stride: 2 }, { stride: 2, pad: 2 }],
    ['overlapping 3x3 windows of stride 1', { poolH: 3, poolW: 3, stride: 1 }, { stride: 1, pad: 1 }],
    ['3x3 windows of stride 2 with padding', { poolH: 3, poolW: 3, stride: 2, pad: 1 }, { stride: 1, pad: 0 }],
  ])('a fused block after a first layer passes the input gradient back: %s', async (_, pool, conv2) => {
    const { x, t } = images(cpu, 2, [3, 7, 6], 9);
    await expectSameAsUnfused(twoConvNet(cpu, { pool, conv2, fused: true }), twoConvNet(cpu, { pool, conv2 }), x, t, 1e-12);
  });

  it('DeepConvNet: three fused blocks, dropout unchanged', async () => {
    const make = (fused: boolean) => new DeepConvNet(cpu, { inputDim: [1, 12, 12], seed: 6, fused });
    const { x, t } = images(cpu, 2, [1, 12, 12], 10);
    await expectSameAsUnfused(make(true), make(false), x, t, 1e-12);
  });
});

// Central differences in f64 (see conv-nets.test.ts for why h = 1e-6 and 1e-4).
const H = 1e-6;
const F64_TOLERANCE = 1e-4;

async function backpropVsNumerical<T extends Tensor>(net: Sequential<T>, x: T, t: T): Promise<number> {
  const backprop = await backpropGradients(net, x, t);
  const numerical = numericalGradients(net, x, t, H);
  return Math.max(...compareGradients(backprop, numerical, largestValue(numerical)).map((d) => d.maxRelDiff));
}

/** The CPU backend whose fused filter gradient takes each window's top-left position instead of its argmax. */
class FusedBackwardIgnoresArgmax extends CpuBackend {
  override convPoolBackwardFilter(dy: CpuTensor, argmax: CpuTensor, x: CpuTensor, w: CpuTensor, conv: ConvArgs, pool: PoolArgs) {
    const { outH, outW } = convGeometry(x.shape, w.shape, conv);
    const [, , ph, pw] = dy.shape as [number, number, number, number];
    const stride = pool.stride ?? 1;
    const topLeft = CpuTensor.zeros(argmax.shape, 'u32');
    (argmax.data as Uint32Array).forEach((a, i) => {
      const [plane, r, c] = [Math.floor(i / (ph * pw)), Math.floor((i % (ph * pw)) / pw), i % pw];
      (topLeft.data as Uint32Array)[i] = a === POOL_NONE ? a : (plane * outH + r * stride) * outW + c * stride;
    });
    return super.convPoolBackwardFilter(dy, topLeft, x, w, conv, pool);
  }
}

describe('the fused backward against the numerical gradient (f64 CPU)', () => {
  it("SimpleConvNet, the book's ch. 7 check (fused, as every SimpleConvNet is by default)", async () => {
    const cpu = new CpuBackend('f64');
    const net = new SimpleConvNet(cpu, { inputDim: [1, 10, 10], filterNum: 10, filterSize: 3, hiddenSize: 10, weightInitStd: 0.3, seed: 3 });
    expect(net.layers[0]).toBeInstanceOf(ConvReluPool);
    const { x, t } = images(cpu, 2, [1, 10, 10], 7);
    expect(await backpropVsNumerical(net, x, t)).toBeLessThan(F64_TOLERANCE);
  });

  it('a fused filter gradient that ignores the argmax fails it', async () => {
    const be = new FusedBackwardIgnoresArgmax('f64');
    const net = new SimpleConvNet(be, { inputDim: [1, 10, 10], filterNum: 10, filterSize: 3, hiddenSize: 10, weightInitStd: 0.3, seed: 3 });
    const { x, t } = images(be, 2, [1, 10, 10], 7);
    expect(await backpropVsNumerical(net, x, t)).toBeGreaterThan(1e-2);
  });
});

describe('ConvReluPool on the GPU (f32) against the unfused CPU layers (f64)', () => {
  // SimpleConvNet's own block at the book's sizes: test/conv-nets.test.ts ('the GPU computes the CPU gradients').
  it('a fused block that passes the input gradient back (overlapping 3x3 pooling)', async () => {
    const cpu = new CpuBackend('f64');
    const pool = { poolH: 3, poolW: 3, stride: 1 };
    const conv2 = { stride: 2, pad: 2 };
    const gpuNet = twoConvNet(gpu(), { pool, conv2, fused: true });
    await gpu().prepare([], preparesFor(gpuNet.layers));
    const cpuNet = twoConvNet(cpu, { pool, conv2 });
    const c = images(cpu, 3, [3, 7, 6], 9);
    const g = images(gpu(), 3, [3, 7, 6], 9);
    const expected = await backpropGradients(cpuNet, c.x, c.t);
    const actual = await backpropGradients(gpuNet, g.x, g.t);
    for (const d of compareGradients(actual, expected, 1e-3 * largestValue(expected))) expect(d.maxRelDiff, d.name).toBeLessThan(2e-3);
    gpuNet.dispose();
    gpu().dispose(g.x, g.t);
  });
});

describe('fuseConvReluPool', () => {
  const cpu = new CpuBackend('f64');
  const conv = (name: string) => new Convolution(cpu, cpu.zeros([2, 1, 3, 3]), cpu.zeros([2]), { name });
  const pool = (name: string) => new Pooling(cpu, { name, poolH: 2, poolW: 2, stride: 2 });

  it('replaces each Convolution → Relu → Pooling run and leaves every other layer where it was', () => {
    const affine = new Affine(cpu, cpu.zeros([2, 2]), cpu.zeros([2]), { name: 'Affine1' });
    const list: Layer<CpuTensor>[] = [conv('Conv1'), new Relu(cpu, 'Relu1'), conv('Conv2'), new Relu(cpu, 'Relu2'), pool('Pool1'), pool('Pool2'), conv('Conv3'), pool('Pool3'), affine];
    const fused = fuseConvReluPool(cpu, list);
    expect(fused.map((l) => l.name)).toEqual(['Conv1', 'Relu1', 'Conv2-Relu2-Pool1', 'Pool2', 'Conv3', 'Pool3', 'Affine1']);
    expect(bookLayers(fused)).toEqual(list);
    const block = fused[2] as ConvReluPool<CpuTensor>;
    // The block trains the convolution's own parameters (the optimizer and model files see W, b).
    expect(block.params()).toEqual(list[2]!.params());
  });

  it('refuses a backward before any forward, naming the layer', () => {
    const [block] = fuseConvReluPool(cpu, [conv('Conv1'), new Relu(cpu, 'Relu1'), pool('Pool1')]);
    expect(() => block!.backward(cpu.zeros([1, 2, 1, 1]))).toThrow('Conv1-Relu1-Pool1: backward before forward');
  });
});
