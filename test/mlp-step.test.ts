import { beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import type { OptimizerHyper } from '../src/backend/ops.js';
import { GpuDataset } from '../src/data/gpu-dataset.js';
import type { MnistSplit } from '../src/data/mnist.js';
import { mlpGradientCpu, mlpLayout, mlpRowsGpu, mlpStepCpu, mlpUpdateGpu, type MlpActivation, type MlpLayout, type MlpLayoutOptions, type MlpRule } from '../src/kernels/mlp-step.js';
import { OPTIMIZER_SPEC } from '../src/kernels/optimizers.js';
import { MultiLayerNet } from '../src/nn/multi-layer-net.js';
import { GpuTensor } from '../src/tensor/gpu-tensor.js';
import { expectClose, randomArray, thrown } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';

const { ctx, gpu } = useGpu();

beforeAll(() => {
  ctx().pool.poison = true;
});

/** A dataset of `count` rows of `features` bytes, about `zeros` of them 0 (MNIST: 0.8), labels < classes. */
function bytes(count: number, features: number, classes: number, seed: number, zeros = 0.8): MnistSplit {
  const r = randomArray(count * features + count, seed);
  const pixels = Uint8Array.from({ length: count * features }, (_, i) => (Math.abs(r[i]!) < zeros ? 0 : Math.floor(((Math.abs(r[i]!) - zeros) / (1 - zeros)) * 255.99)));
  const labels = Uint8Array.from({ length: count }, (_, i) => Math.floor(Math.abs(r[count * features + i]!) * 0.999 * classes));
  return { count, rows: 1, cols: features, pixels, labels };
}

/**
 * Every form of the kernels: hardware (the readable kernels), software (the written-out register
 * blocks GpuBackend picks on software adapters) at its default blocking, and a second software
 * blocking whose panels, blocks and workgroups fit none of the nets' widths evenly, so edges
 * and several blocks per invocation are exercised.
 */
const VARIANTS: { name: string; options: MlpLayoutOptions }[] = [
  { name: 'hardware', options: {} },
  { name: 'software', options: { software: true } },
  { name: 'software, 3-row panels, 5x3 blocks', options: { software: true, tiling: { rows: 3, tn: 5, wg: 2, ti: 4, tj: 3, wgu: 4 } } },
];

interface Case {
  name: string;
  widths: number[];
  activations: MlpActivation[];
  batch: number;
}

const CASES: Case[] = [
  { name: "the seed's TwoLayerNet 784-50-10, ReLU, batch 100", widths: [784, 50, 10], activations: ['relu'], batch: 100 },
  { name: 'softmax regression 12-3 (no hidden layer), batch 5', widths: [12, 3], activations: [], batch: 5 },
  { name: '3 layers 20-130-70-10, sigmoid, batch 7 (not a multiple of 4; wider than a workgroup)', widths: [20, 130, 70, 10], activations: ['sigmoid', 'sigmoid'], batch: 7 },
  { name: '4 layers 16-9-5-7-3, ReLU/sigmoid mixed, odd widths, batch 10', widths: [16, 9, 5, 7, 3], activations: ['relu', 'sigmoid', 'relu'], batch: 10 },
];

/** Runs both kernels with WRITE_GRAD: the loss and the packed gradient of theta. */
async function gpuGradient(layout: MlpLayout, ds: GpuDataset, indices: Uint32Array, theta: Float32Array) {
  const c = ctx();
  const t = GpuTensor.from(c, theta, [layout.size]);
  const scratch = GpuTensor.empty(c, [layout.scratch]);
  const idx = GpuTensor.from(c, indices, [indices.length], 'u32');
  const loss = GpuTensor.empty(c, [1]);
  const grads = GpuTensor.empty(c, [layout.size]);
  c.submit();
  mlpRowsGpu(c, layout, ds.resident, idx, t, scratch);
  mlpUpdateGpu(c, layout, 'sgd', { lr: 1 }, ds.resident, idx, t, scratch, undefined, loss, grads);
  // The first read submits the step: its trace lists the step's dispatches.
  const g = await grads.read();
  const kernels = c.lastTrace.map((d) => d.kernel);
  const [l, after] = await Promise.all([loss.read(), t.read()]);
  for (const x of [t, scratch, idx, loss, grads]) x.dispose();
  return { grads: g, loss: l[0]!, theta: after, kernels };
}

/** Tolerance per gradient value: float32 sums of `terms` products each, relative to the largest gradient. */
function gradTol(ref: Float64Array, terms: number): number {
  const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return scale * terms * 2 ** -22 + 1e-12;
}

describe.each(VARIANTS)('mlp_rows + mlp_update (WRITE_GRAD) against the float64 reference: $name', ({ options }) => {
  it.each(CASES)('$name', async ({ widths, activations, batch }) => {
    const layout = mlpLayout(widths, activations, batch, options);
    const split = bytes(60, widths[0]!, widths.at(-1)!, widths.length * 7 + batch);
    const ds = new GpuDataset(gpu(), split);
    // Rows drawn with repeats, as minibatches may be.
    const indices = Uint32Array.from({ length: batch }, (_, i) => (i * 37 + 11) % 60);
    indices[batch - 1] = indices[0]!;
    const theta = randomArray(layout.size, batch + 3, 0.5);
    const out = await gpuGradient(layout, ds, indices, theta);
    const ref = mlpGradientCpu(layout, split.pixels, split.labels, indices, Float64Array.from(theta));
    expect(out.loss).toBeCloseTo(ref.loss, 5);
    const widest = Math.max(...widths);
    expectClose(out.grads, ref.grads, gradTol(ref.grads, widest * widths.length + batch), 'gradient');
    // WRITE_GRAD moves nothing; the step is two dispatches, of this variant's kernels.
    expect(Array.from(out.theta)).toEqual(Array.from(theta));
    const entries = layout.variant === 'software' ? ['mlp_rows_sw', 'mlp_update_sw'] : ['mlp_rows', 'mlp_update'];
    expect(out.kernels.map((k) => k.replace(/^mlp-step\.([a-z_]+).*$/, '$1'))).toEqual(entries);
    // A gradient of the right size that is all zeros would pass a loose tolerance: it is not.
    expect(ref.grads.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    ds.dispose();
  });
});

describe('the float64 reference against the layer-by-layer net on the CPU device', () => {
  it('TwoLayerNet-shaped 16-9-4 with sigmoid: the same loss and gradients as Sequential.gradient', async () => {
    const cpu = new CpuBackend('f64');
    const widths = [16, 9, 4];
    const net = new MultiLayerNet(cpu, { inputSize: 16, inputImage: undefined, hiddenSizes: [9], outputSize: 4, activation: 'sigmoid', weightInit: 'std', weightInitStd: 0.5, seed: 3 });
    const layout = mlpLayout(widths, ['sigmoid'], 6);
    // theta packed from the net's own parameters, W then b per layer.
    const theta = new Float64Array(layout.size);
    const params = net.params();
    let at = 0;
    for (const p of params) {
      theta.set((await cpu.read(p.value)) as ArrayLike<number>, at);
      at += p.value.size;
    }
    const split = bytes(10, 16, 4, 5, 0.5);
    const indices = Uint32Array.from([3, 1, 4, 1, 5, 9]);
    const ref = mlpGradientCpu(layout, split.pixels, split.labels, indices, theta);
    const x = cpu.fromArray(Array.from(indices).flatMap((r) => Array.from(split.pixels.subarray(r * 16, r * 16 + 16), (v) => v / 255)), [6, 16]);
    const t = cpu.labels(Array.from(indices, (r) => split.labels[r]!), 4);
    const loss = net.gradient(x, t);
    expect((await cpu.read(loss))[0]).toBeCloseTo(ref.loss, 12);
    at = 0;
    for (const p of params) {
      expectClose(await cpu.read(p.grad!), ref.grads.subarray(at, at + p.value.size), 1e-12, p.name);
      at += p.value.size;
    }
  });
});

const HYPER: Record<MlpRule, OptimizerHyper> = {
  sgd: { lr: 0.1 },
  momentum: { lr: 0.1, momentum: 0.9 },
  nesterov: { lr: 0.1, momentum: 0.9 },
  adagrad: { lr: 0.1 },
  rmsprop: { lr: 0.01, decay: 0.99 },
  adam: { lr: 0.01, beta1: 0.9, beta2: 0.999 },
};

describe.each(VARIANTS)('a fused step per update rule, three steps, against the float64 reference: $name', ({ options }) => {
  it.each(Object.keys(HYPER) as MlpRule[])('%s', async (rule) => {
    const c = ctx();
    const widths = [32, 24, 10];
    const layout = mlpLayout(widths, ['relu'], 12, options);
    const split = bytes(40, 32, 10, 17);
    const ds = new GpuDataset(gpu(), split);
    const theta0 = randomArray(layout.size, 23, 0.3);
    const slots = rule === 'sgd' ? 0 : OPTIMIZER_SPEC[rule].state.length;
    const state0 = new Float32Array(slots * layout.size);
    // Nonzero state, as after earlier steps (AdaGrad's and RMSprop's h, Adam's v must stay >= 0).
    state0.set(randomArray(slots * layout.size, 29, 0.01).map((v) => (rule === 'momentum' || rule === 'nesterov' ? v : Math.abs(v))));
    const theta = GpuTensor.from(c, theta0, [layout.size]);
    const state = slots ? GpuTensor.from(c, state0, [slots * layout.size]) : undefined;
    const scratch = GpuTensor.empty(c, [layout.scratch]);
    const loss = GpuTensor.empty(c, [1]);
    const refTheta = Float64Array.from(theta0);
    const refState = Array.from({ length: slots }, (_, s) => Float64Array.from(state0.subarray(s * layout.size, (s + 1) * layout.size)));
    for (let step = 1; step <= 3; step++) {
      const indices = Uint32Array.from({ length: 12 }, (_, i) => (i * 7 + step * 5) % 40);
      const idx = GpuTensor.from(c, indices, [12], 'u32');
      const hyper = { ...HYPER[rule], step };
      mlpRowsGpu(c, layout, ds.resident, idx, theta, scratch);
      mlpUpdateGpu(c, layout, rule, hyper, ds.resident, idx, theta, scratch, state, loss);
      const refLoss = mlpStepCpu(layout, rule, hyper, split.pixels, split.labels, indices, refTheta, refState);
      expect((await loss.read())[0], `loss of step ${step}`).toBeCloseTo(refLoss, 5);
      idx.dispose();
    }
    // Three updates of lr·(at most ~1 for the adaptive rules) each, from float32 gradients.
    const scale = Math.max(...refTheta.map(Math.abs));
    expectClose(await theta.read(), refTheta, 1e-5 * scale + 1e-6, `${rule} θ`);
    const moved = refTheta.some((v, i) => Math.abs(v - theta0[i]!) > 1e-4);
    expect(moved, 'the reference moved θ').toBe(true);
    if (state) {
      const s = await state.read();
      refState.forEach((ref, k) => expectClose(s.subarray(k * layout.size, (k + 1) * layout.size), ref, 1e-5 * Math.max(1e-3, ...ref.map(Math.abs)), `${rule} state ${k}`));
    }
    for (const x of [theta, state, scratch, loss]) x?.dispose();
    ds.dispose();
  });
});

describe.each(VARIANTS)('a NaN or +Inf logit makes the loss NaN (a diverged net must not look finite): $name', ({ options }) => {
  it.each([Number.NaN, Infinity])('a last-layer bias of %s', async (bad) => {
    const layout = mlpLayout([32, 24, 10], ['relu'], 12, options);
    const split = bytes(40, 32, 10, 17);
    const ds = new GpuDataset(gpu(), split);
    const theta = randomArray(layout.size, 23, 0.3);
    const indices = Uint32Array.from({ length: 12 }, (_, i) => (i * 7 + 5) % 40);
    expect(Number.isFinite((await gpuGradient(layout, ds, indices, theta)).loss)).toBe(true);
    // b of the last layer: the last 10 values of theta.
    theta[layout.size - 3] = bad;
    expect((await gpuGradient(layout, ds, indices, theta)).loss).toBeNaN();
    ds.dispose();
  });
});

describe('the software layout', () => {
  it('packs theta and files activations, gradients and losses where the hardware layout does (others read them)', () => {
    for (const { widths, activations, batch } of CASES) {
      const hw = mlpLayout(widths, activations, batch);
      const sw = mlpLayout(widths, activations, batch, { software: true });
      expect(sw.variant).toBe('software');
      expect(hw.variant).toBe('hardware');
      expect([sw.size, sw.batch, sw.features, sw.losses]).toEqual([hw.size, hw.batch, hw.features, hw.losses]);
      expect(sw.layers.map((l) => [l.inputs, l.outputs, l.w, l.activation, l.a, l.d])).toEqual(hw.layers.map((l) => [l.inputs, l.outputs, l.w, l.activation, l.a, l.d]));
      // Its lists come after the losses.
      expect(sw.rowLists).toBe(hw.scratch);
      expect(sw.scratch).toBeGreaterThan(hw.scratch);
    }
  });

  it('refuses a blocking whose first-layer blocks are not whole dataset words', () => {
    expect(thrown(() => mlpLayout([784, 50, 10], ['relu'], 100, { software: true, tiling: { rows: 10, tn: 13, wg: 4, ti: 6, tj: 13, wgu: 8 } })).message).toMatch(/ti = 6.*whole dataset words/);
  });
});

describe('mlpLayout refuses what the kernels cannot hold, naming it', () => {
  it('a layer wider than 512, more than 8 layers, inputs not a multiple of 4, a wrong activation count', () => {
    expect(thrown(() => mlpLayout([784, 600, 10], ['relu'], 100)).message).toMatch(/600 outputs.*at most 512/);
    expect(thrown(() => mlpLayout(Array(10).fill(8), Array(8).fill('relu'), 10)).message).toMatch(/9 Affine layers.*1 to 8/);
    expect(thrown(() => mlpLayout([30, 10], [], 10)).message).toMatch(/30 input features.*multiple of 4/);
    expect(thrown(() => mlpLayout([32, 10, 10], [], 10)).message).toMatch(/2 Affine layers need 1 activation/);
    expect(thrown(() => mlpLayout([32, 10], [], 0)).message).toMatch(/batch size 0/);
  });
});
