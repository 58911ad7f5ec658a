import { beforeAll, describe, expect, it, vi } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { GpuDataset } from '../src/data/gpu-dataset.js';
import { sliceSplit, type Mnist } from '../src/data/mnist.js';
import { loadMnist } from '../src/node/load-mnist.js';
import { MultiLayerNet, TwoLayerNet } from '../src/nn/multi-layer-net.js';
import { compareGradients } from '../src/train/gradient-check.js';
import { planFusedStep } from '../src/train/mlp-step.js';
import { numericalGradients } from '../src/train/numerical-gradient.js';
import { Adam, SGD, type Optimizer } from '../src/train/optimizer.js';
import { DivergenceError, Trainer, type TrainConfig } from '../src/train/trainer.js';
import { loadModel, saveModel } from '../src/nn/model-file.js';
import type { GpuTensor } from '../src/tensor/gpu-tensor.js';
import { kernelName, type KernelSpec } from '../src/gpu/pipeline-cache.js';
import { expectClose } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';

const { gpu } = useGpu();
let mnist: Mnist;

beforeAll(async () => {
  mnist = await loadMnist();
});

const RUN: TrainConfig = { steps: 100, batchSize: 100, seed: 3, readEvery: 25, evalEvery: 0 };

/** 100 steps of the seed's net from the same weights and batches, fused or layer by layer. */
async function train(fused: boolean, optimizer: 'sgd' | 'adam') {
  const data = new GpuDataset(gpu(), sliceSplit(mnist.train, 0, 5000));
  const net = new TwoLayerNet(gpu(), 784, 50, 10);
  const opt: Optimizer<GpuTensor> = optimizer === 'sgd' ? new SGD(gpu(), 0.1) : new Adam(gpu(), 0.001);
  const trainer = new Trainer(net, data, data, opt);
  const before = gpu().ctx.dispatches;
  const result = await trainer.run({ ...RUN, fused });
  const dispatchesPerStep = (gpu().ctx.dispatches - before) / RUN.steps;
  expect(result.fused).toBe(fused);
  const weights = await Promise.all(net.params().map((p) => gpu().read(p.value)));
  const state = 'state' in opt ? await (opt as Adam<GpuTensor>).state() : undefined;
  net.dispose();
  data.dispose();
  return { losses: result.losses, weights, state, dispatchesPerStep };
}

describe('the fused step trains as the layer-by-layer path does (100 steps, same weights and batches)', () => {
  it.each(['sgd', 'adam'] as const)('%s: the same losses, weights and optimizer state, within float32 rounding', async (optimizer) => {
    const layers = await train(false, optimizer);
    const fused = await train(true, optimizer);
    // Sums run in other orders: float32 rounding, compounded over 100 steps, far below what one
    // wrong term would change (the first step's loss, ln 10, moves by 1e-3 per step at lr 0.1).
    expectClose(fused.losses, layers.losses, 2e-5 * 2.3, 'losses');
    expect(fused.losses[99]).toBeLessThan(fused.losses[0]! - 0.3);
    fused.weights.forEach((w, i) => {
      const scale = Math.max(...Array.from(layers.weights[i]!, Math.abs));
      expectClose(w, layers.weights[i]!, 1e-3 * scale, `parameter ${i}`);
    });
    if (layers.state) {
      expect(fused.state!.step).toBe(layers.state.step);
      for (const [name, values] of Object.entries(layers.state.tensors)) {
        const scale = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        expectClose(fused.state!.tensors[name]!, values, 2e-3 * scale, name);
      }
    }
    // 2 kernels and the loss filed into the window's history, against 18 + 1 layer by layer.
    expect(fused.dispatchesPerStep).toBe(3);
    expect(layers.dispatchesPerStep).toBeGreaterThan(10);
  });
});

describe('many steps per submit, interrupted, resumed and diverging, on the fused path', () => {
  const CONFIG: TrainConfig = { steps: 60, batchSize: 50, seed: 5, readEvery: 20, evalEvery: 0, fused: true };
  const setup = () => {
    const data = new GpuDataset(gpu(), sliceSplit(mnist.train, 0, 2000));
    const net = new TwoLayerNet(gpu(), 784, 50, 10);
    return { data, trainer: new Trainer(net, data, data, new Adam(gpu(), 0.001)) };
  };

  it('7 steps per submit: the same losses as 1, fewer submits; stopped at step 23 and resumed from its checkpoint, the same as uninterrupted', async () => {
    const one = setup();
    let submits = gpu().ctx.submits;
    const full = await one.trainer.run({ ...CONFIG, stepsPerSubmit: 1 });
    const submitsOfOne = gpu().ctx.submits - submits;
    const seven = setup();
    submits = gpu().ctx.submits;
    const batched = await seven.trainer.run({ ...CONFIG, stepsPerSubmit: 7 });
    const submitsOfSeven = gpu().ctx.submits - submits;
    expect(Array.from(batched.losses)).toEqual(Array.from(full.losses));
    // Per window of 20: 20 submits of one step, or 3 of 7 (the last with the snapshot), plus readbacks alike.
    expect(submitsOfOne - submitsOfSeven).toBe(3 * (20 - 3));

    const first = setup();
    let asked = 0;
    const part = await first.trainer.run({ ...CONFIG, stepsPerSubmit: 7 }, { shouldStop: () => asked++ === 23 });
    expect(part.stoppedAt).toBe(23);
    expect(Array.from(part.losses.subarray(0, 23))).toEqual(Array.from(full.losses.subarray(0, 23)));
    // The checkpoint: weights and Adam's state as the fused steps left them, stored back into the net and optimizer.
    const file = await saveModel(first.trainer.net, { step: '23', rng_state: JSON.stringify(part.rngState) });
    const adamState = await (first.trainer.optimizer as Adam<GpuTensor>).state();
    expect(adamState.step).toBe(23);
    const second = setup();
    const meta = loadModel(second.trainer.net, file, 'checkpoint');
    (second.trainer.optimizer as Adam<GpuTensor>).loadState(adamState);
    const rest = await second.trainer.run({ ...CONFIG, stepsPerSubmit: 7, resume: { step: Number(meta.step), rngState: JSON.parse(meta.rng_state!) } });
    expect(Array.from(rest.losses.subarray(23))).toEqual(Array.from(full.losses.subarray(23)));
    for (const s of [one, seven, first, second]) {
      s.trainer.net.dispose();
      s.data.dispose();
    }
  });

  it('a diverging fused run stops with DivergenceError at the step whose loss is not finite, and puts the last good weights back', async () => {
    const data = new GpuDataset(gpu(), sliceSplit(mnist.train, 0, 2000));
    const run = async (fused: boolean) => {
      const net = new TwoLayerNet(gpu(), 784, 50, 10);
      const before = await Promise.all(net.params().map((p) => gpu().read(p.value)));
      // lr 1e36: the first update grows the weights to ~1e34 and the next logits overflow.
      const trainer = new Trainer(net, data, data, new SGD(gpu(), 1e36));
      const error = await trainer.run({ ...CONFIG, steps: 20, stepsPerSubmit: 4, readEvery: 5, fused }).catch((e: unknown) => e);
      const after = await Promise.all(net.params().map((p) => gpu().read(p.value)));
      net.dispose();
      return { error, before, after };
    };
    const fused = await run(true);
    const layers = await run(false);
    expect(fused.error).toBeInstanceOf(DivergenceError);
    expect((fused.error as DivergenceError).step).toBe((layers.error as DivergenceError).step);
    expect((fused.error as DivergenceError).step).toBeGreaterThan(0);
    // The window diverged, so the weights from before it (here: the initial ones) are back, not
    // what the fused steps stored into the net.
    fused.after.forEach((values, i) => expect(Array.from(values)).toEqual(Array.from(fused.before[i]!)));
    data.dispose();
  });
});

describe('the gradient check on the fused kernels', () => {
  it('TwoLayerNet 784-10-10: the fused gradient against the numerical one (float64, CPU device) on 4 MNIST rows', async () => {
    const split = sliceSplit(mnist.train, 0, 200);
    const data = new GpuDataset(gpu(), split);
    const net = new MultiLayerNet(gpu(), { hiddenSizes: [10], weightInitStd: 0.1, seed: 5 });
    const rows = Uint32Array.from([3, 17, 42, 150]);
    const plan = planFusedStep(net, new SGD(gpu(), 0.1), data, rows.length);
    if (typeof plan === 'string') throw new Error(plan);
    const { grads } = await plan.gradient(rows);
    plan.dispose();
    // The same net on the CPU device in float64, its loss differentiated numerically.
    const cpu = new CpuBackend('f64');
    const ref = new MultiLayerNet(cpu, { hiddenSizes: [10], weightInitStd: 0.1, seed: 5 });
    await ref.copyParamsFrom(net);
    const x = cpu.fromArray(Array.from(rows).flatMap((r) => Array.from(split.pixels.subarray(r * 784, (r + 1) * 784), (v) => v / 255)), [4, 784]);
    const t = cpu.labels(Array.from(rows, (r) => split.labels[r]!), 10);
    const numeric = numericalGradients(ref, x, t);
    for (const d of compareGradients(grads, numeric)) expect(d.maxRelDiff, d.name).toBeLessThan(1e-3);
    net.dispose();
    data.dispose();
  });
});

describe('the fused step compiles its pipelines before its first step', () => {
  it('every fused kernel a run dispatches was handed to the pipeline cache\'s asynchronous prepare first', async () => {
    const ctx = gpu().ctx;
    const prepared = new Set<string>();
    const unprepared: string[] = [];
    let fusedDispatches = 0;
    const prepare = ctx.pipelines.prepare.bind(ctx.pipelines);
    const dispatch = ctx.dispatch.bind(ctx);
    const prepareSpy = vi.spyOn(ctx.pipelines, 'prepare').mockImplementation((specs: KernelSpec[]) => {
      for (const s of specs) prepared.add(kernelName(s));
      return prepare(specs);
    });
    const dispatchSpy = vi.spyOn(ctx, 'dispatch').mockImplementation((d) => {
      if (d.kernel.family === 'mlp-step') {
        fusedDispatches++;
        if (!prepared.has(kernelName(d.kernel))) unprepared.push(kernelName(d.kernel));
      }
      dispatch(d);
    });
    const data = new GpuDataset(gpu(), sliceSplit(mnist.train, 0, 500));
    const net = new TwoLayerNet(gpu(), 784, 30, 10);
    try {
      await new Trainer(net, data, data, new Adam(gpu(), 0.001)).run({ ...RUN, steps: 3, fused: true });
    } finally {
      prepareSpy.mockRestore();
      dispatchSpy.mockRestore();
      net.dispose();
      data.dispose();
    }
    expect(fusedDispatches).toBe(6);
    expect(unprepared).toEqual([]);
  });
});

describe('where the fused step does not apply', () => {
  it('planFusedStep names why; a run that demands it fails with that reason, the default falls back', async () => {
    const data = new GpuDataset(gpu(), sliceSplit(mnist.train, 0, 500));
    const dropout = new MultiLayerNet(gpu(), { hiddenSizes: [20], dropoutRatio: 0.5 });
    const decay = new MultiLayerNet(gpu(), { hiddenSizes: [20], weightDecay: 0.1 });
    const sgd = new SGD(gpu(), 0.1);
    expect(planFusedStep(dropout, sgd, data, 100)).toMatch(/Dropout1 is not an Affine layer/);
    expect(planFusedStep(decay, sgd, data, 100)).toMatch(/weight decay/);
    await expect(new Trainer(dropout, data, data, sgd).run({ ...RUN, steps: 2, fused: true })).rejects.toThrow(/fused step: Dropout1/);
    const result = await new Trainer(dropout, data, data, sgd).run({ ...RUN, steps: 2 });
    expect(result.losses.every(Number.isFinite)).toBe(true);
    dropout.dispose();
    decay.dispose();
    data.dispose();
  });
});
