import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { CpuDataset } from '../src/data/cpu-dataset.js';
import type { Dataset } from '../src/data/dataset.js';
import { GpuDataset } from '../src/data/gpu-dataset.js';
import { sliceSplit, type Mnist } from '../src/data/mnist.js';
import { loadMnist } from '../src/node/load-mnist.js';
import { encodeModel, loadModel, readOptimizerState, saveModel } from '../src/nn/model-file.js';
import { MultiLayerNet, TwoLayerNet, type NetConfig } from '../src/nn/multi-layer-net.js';
import type { CpuTensor } from '../src/tensor/cpu-tensor.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { createOptimizer, SGD, type OptimizerName, type StatefulOptimizer } from '../src/train/optimizer.js';
import { DivergenceError, Trainer, type Checkpoint } from '../src/train/trainer.js';
import { GpuBackend } from '../src/backend/gpu-backend.js';
import { openNodeGpu } from '../src/device/discover-node.js';
import { GpuError } from '../src/device/errors.js';
import { useGpu } from './helpers/gpu.js';

const { gpu } = useGpu();
let mnist: Mnist;
beforeAll(async () => {
  mnist = await loadMnist();
});

const CONFIG = { steps: 70, batchSize: 50, seed: 5, readEvery: 10, evalEvery: 1000 };

function setup<T extends Tensor>(device: 'cpu' | 'gpu', backend?: Backend<T>, optimizer: OptimizerName = 'sgd', layers: Partial<NetConfig> = {}) {
  const be = (backend ?? (device === 'gpu' ? gpu() : new CpuBackend('f32'))) as Backend<Tensor>;
  const train = sliceSplit(mnist.train, 0, 2000);
  const test = sliceSplit(mnist.test, 0, 200);
  const sets: Dataset<Tensor>[] = device === 'gpu'
    ? [new GpuDataset(gpu(), train), new GpuDataset(gpu(), test)]
    : [new CpuDataset(be as unknown as CpuBackend, train), new CpuDataset(be as unknown as CpuBackend, test)];
  const net = new MultiLayerNet(be, { inputSize: 784, hiddenSizes: [50], outputSize: 10, weightInitStd: 0.01, seed: 9, ...layers });
  return new Trainer(net, sets[0]!, sets[1]!, optimizer === 'sgd' ? new SGD(be, 0.1) : createOptimizer(be, optimizer, 0.01));
}

async function weights<T extends Tensor>(t: Trainer<T>) {
  return Promise.all(t.net.tensors().map(async (p) => Array.from(await t.net.backend.read(p.value))));
}

describe.each(['cpu', 'gpu'] as const)('interrupt and resume on the %s device', (device) => {
  it('a run stopped mid-window and resumed from its checkpoint matches an uninterrupted run exactly', async () => {
    const whole = setup(device);
    const full = await whole.run(CONFIG);

    const first = setup(device);
    let steps = 0;
    const part = await first.run(CONFIG, { shouldStop: () => steps++ === 27 });
    expect(part.stoppedAt).toBe(27);
    // Nothing run is lost: the partial window's losses were read back too.
    expect(Array.from(part.losses.subarray(0, 27))).toEqual(Array.from(full.losses.subarray(0, 27)));
    const checkpoint = await saveModel(first.net, { step: String(part.stoppedAt), rng_state: JSON.stringify(part.rngState) });

    const second = setup(device);
    const meta = loadModel(second.net, checkpoint, 'checkpoint');
    const rest = await second.run({ ...CONFIG, resume: { step: Number(meta.step), rngState: JSON.parse(meta.rng_state!) } });
    expect(rest.firstStep).toBe(27);
    expect(Array.from(rest.losses.subarray(27))).toEqual(Array.from(full.losses.subarray(27)));
    expect(await weights(second)).toEqual(await weights(whole));
    for (const t of [whole, first, second]) t.net.dispose();
  });

  it('with BatchNorm and Dropout: the checkpoint holds the running statistics and the masks are redrawn the same', async () => {
    const layers = { batchNorm: true, dropoutRatio: 0.3 };
    const whole = setup(device, undefined, 'sgd', layers);
    const full = await whole.run(CONFIG);
    const first = setup(device, undefined, 'sgd', layers);
    const checkpoints: Checkpoint[] = [];
    await first.run({ ...CONFIG, steps: 40, checkpointEvery: 30 }, { onCheckpoint: (c) => void checkpoints.push(c) });
    const c = checkpoints.at(-1)!;
    expect(first.net.tensors().map((t) => t.name)).toEqual(['W1', 'b1', 'gamma1', 'beta1', 'W2', 'b2', 'running_mean1', 'running_var1']);
    expect(c.weights).toHaveLength(8);
    const file = encodeModel(first.net, c.weights, { step: String(c.step), rng_state: JSON.stringify(c.rngState) });

    const second = setup(device, undefined, 'sgd', layers);
    const meta = loadModel(second.net, file, 'checkpoint');
    const rest = await second.run({ ...CONFIG, resume: { step: Number(meta.step), rngState: JSON.parse(meta.rng_state!) } });
    expect(Array.from(rest.losses.subarray(30))).toEqual(Array.from(full.losses.subarray(30)));
    // The running statistics (what inference uses) match too, and so do test accuracies.
    expect(await weights(second)).toEqual(await weights(whole));
    expect(rest.epochs.at(-1)).toEqual(full.epochs.at(-1));
    for (const t of [whole, first, second]) t.net.dispose();
  });
});

describe.each(['cpu', 'gpu'] as const)('a checkpoint with Adam on the %s device', (device) => {
  it('carries the optimizer state: the resumed run matches an uninterrupted one', async () => {
    const whole = setup(device, undefined, 'adam');
    const full = await whole.run(CONFIG);
    const first = setup(device, undefined, 'adam');
    const checkpoints: Checkpoint[] = [];
    await first.run({ ...CONFIG, steps: 40, checkpointEvery: 30 }, { onCheckpoint: (c) => void checkpoints.push(c) });
    const c = checkpoints.at(-1)!;
    expect(c.step).toBe(30);
    expect(c.optimizer!.step).toBe(30);
    const file = encodeModel(first.net, c.weights, { step: String(c.step), rng_state: JSON.stringify(c.rngState) }, c.optimizer);

    const second = setup(device, undefined, 'adam');
    const meta = loadModel(second.net, file, 'checkpoint');
    (second.optimizer as StatefulOptimizer<Tensor>).loadState(readOptimizerState(file, 'checkpoint')!);
    const rest = await second.run({ ...CONFIG, resume: { step: Number(meta.step), rngState: JSON.parse(meta.rng_state!) } });
    // Float32 state round-trips exactly; only a resume without it would drift.
    expect(Array.from(rest.losses.subarray(30))).toEqual(Array.from(full.losses.subarray(30)));
    expect(await weights(second)).toEqual(await weights(whole));
    for (const t of [whole, first, second]) t.net.dispose();
  });
});

describe('divergence', () => {
  it('stops at the first non-finite loss, names the step and the last finite loss, and keeps the last good weights', async () => {
    // A backend whose update turns the weights to NaN from the 33rd update on: step 33's loss is
    // the first NaN; losses are read in windows of 10, so the last good weights are those after
    // step 29 (the end of the last all-finite window).
    const cpu = new CpuBackend('f32');
    let updates = 0;
    const poisoned = Object.assign(Object.create(cpu) as CpuBackend, {
      sgdUpdate(param: CpuTensor, grad: CpuTensor, lr: number) {
        cpu.sgdUpdate(param, grad, lr);
        if (updates++ >= 32 * 4) (param.data as Float32Array).fill(NaN);
      },
    });
    const broken = setup('cpu', poisoned);
    const error = await broken.run(CONFIG).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DivergenceError);
    expect((error as DivergenceError).step).toBe(33);
    expect((error as Error).message).toMatch(/not finite at step 33 \(last finite loss \d\.\d+\)/);

    const longer = await setup('cpu').run({ ...CONFIG, steps: 33 });
    expect((error as DivergenceError).lastFiniteLoss).toBe(longer.losses[32]);
    const reference = setup('cpu');
    await reference.run({ ...CONFIG, steps: 30 });
    expect(await weights(broken)).toEqual(await weights(reference));
  });
});

describe('device loss', () => {
  // Layer by layer, and the fused step at one step a submit and five: a checkpoint is taken at a window's end either way.
  it.each([
    [false, 1],
    [true, 1],
    [true, 5],
  ])('a lost device stops training with a GpuError; the last checkpoint resumes on a new device as if nothing happened (fused %s, %i steps a submit)', async (fused, stepsPerSubmit) => {
    const whole = setup('gpu');
    const full = await whole.run({ ...CONFIG, fused });

    // A device of its own, destroyed under the running trainer as a driver reset would.
    const ctx = await openNodeGpu();
    const doomed = new GpuBackend(ctx);
    const train = new GpuDataset(doomed, sliceSplit(mnist.train, 0, 2000));
    const test = new GpuDataset(doomed, sliceSplit(mnist.test, 0, 200));
    const net = new TwoLayerNet(doomed, 784, 50, 10, 0.01, 9);
    const trainer = new Trainer(net, train, test, new SGD(doomed, 0.1));
    const checkpoints: Checkpoint[] = [];
    const error = await trainer
      .run({ ...CONFIG, checkpointEvery: 20, stepsPerSubmit, fused }, {
        onCheckpoint: (c) => void checkpoints.push(c),
        onProgress: (done) => {
          if (done >= 45) ctx.device.destroy();
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GpuError);
    expect((error as Error).message).toMatch(/lost|destroyed/);
    ctx.destroy();
    const last = checkpoints.at(-1)!;
    expect(last.step).toBeGreaterThanOrEqual(20);

    const resumed = setup('gpu');
    resumed.net.tensors().forEach((p, i) => resumed.net.backend.write(p.value, last.weights[i]!));
    const rest = await resumed.run({ ...CONFIG, fused, resume: { step: last.step, rngState: last.rngState } });
    expect(Array.from(rest.losses.subarray(last.step))).toEqual(Array.from(full.losses.subarray(last.step)));
    expect(await weights(resumed)).toEqual(await weights(whole));
    whole.net.dispose();
    resumed.net.dispose();
  });
});
