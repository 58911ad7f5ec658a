import {
  Adam,
  CpuBackend,
  CpuDataset,
  GpuBackend,
  GpuDataset,
  MultiLayerNet,
  planFusedStep,
  SGD,
  SimpleConvNet,
  Trainer,
  type Backend,
  type CpuTensor,
  type Dataset,
  type GpuContext,
  type GpuTensor,
  type Mnist,
  type Model,
  type Optimizer,
  type Tensor,
} from 'webgpu-backprop';
import type { ConvEngine } from './conv-bench.js';
import { CONV_BETA1, CONV_BETA2, type ConvSpec } from './conv-model.js';
import { batchSchedule } from './data.js';
import type { TrainingEngine } from './engine.js';
import { gpuVsCpu, gpuVsCpuBatches, type GpuVsCpuResult } from './gpu-vs-cpu.js';
import type { ModelSpec } from './model.js';
import type { Plan } from './plan.js';

export interface OursDatasets<T extends Tensor> {
  train: Dataset<T>;
  test: Dataset<T>;
}

const GPU_HOW =
  'GpuBackend: the seed MultiLayerNet (Affine, Relu, Affine, SoftmaxWithLoss) and SGD, one command buffer per step; ' +
  'MNIST resident on the GPU as bytes, each batch gathered there from uploaded indices; loss read with GpuTensor.read; ' +
  'kernels per adapter (software: unrolled matmul, sparse first layer, 8 elements per invocation in elementwise kernels; hardware: tiled matmul)';
const CPU_HOW = 'CpuBackend (f32 storage, f64 accumulation, plain TypeScript loops, one thread), the same net and SGD; batches normalized from bytes';

/**
 * A net's training step as the Trainer runs it (Trainer.step: batch, gradient, optimizer update),
 * one submit each, without the Trainer's loss history so that the bench chooses when to sync.
 */
export function trainerEngine<T extends Tensor>(name: string, net: Model<T>, optimizer: Optimizer<T>, data: OursDatasets<T>, how: string): TrainingEngine {
  const backend = net.backend;
  const trainer = new Trainer(net, data.train, data.test, optimizer);
  let loss: T | undefined;
  return {
    name,
    label: backend.label,
    how,
    step(indices) {
      loss = trainer.step(0, indices);
      backend.flush();
    },
    async readLoss() {
      if (!loss) throw new Error(`${name}: readLoss before any step`);
      return (await backend.read(loss))[0]!;
    },
    testAccuracy: () => trainer.evaluate(data.test),
    dispose: () => net.dispose(),
  };
}

/** The seed's TwoLayerNet (MultiLayerNet of one hidden layer) with SGD. */
export function oursEngine<T extends Tensor>(name: string, backend: Backend<T>, data: OursDatasets<T>, spec: ModelSpec, how: string): TrainingEngine {
  const net = new MultiLayerNet(backend, { hiddenSizes: [spec.hidden], seed: spec.seed });
  return trainerEngine(name, net, new SGD(backend, spec.lr), data, how);
}

/** The book's SimpleConvNet with Adam, as train_convnet.py trains it. */
export function oursConvEngine<T extends Tensor>(name: string, backend: Backend<T>, data: OursDatasets<T>, spec: ConvSpec, how: string): TrainingEngine {
  const net = new SimpleConvNet(backend, { seed: spec.seed });
  return trainerEngine(name, net, new Adam(backend, spec.lr, CONV_BETA1, CONV_BETA2), data, how);
}

export async function oursGpuBackend(ctx: GpuContext): Promise<GpuBackend> {
  const gpu = new GpuBackend(ctx);
  await gpu.prepare();
  return gpu;
}

export function gpuDatasets(gpu: GpuBackend, mnist: Mnist): OursDatasets<GpuTensor> {
  return { train: new GpuDataset(gpu, mnist.train), test: new GpuDataset(gpu, mnist.test) };
}

export function cpuDatasets(cpu: CpuBackend, mnist: Mnist): OursDatasets<CpuTensor> {
  return { train: new CpuDataset(cpu, mnist.train), test: new CpuDataset(cpu, mnist.test) };
}

/** Ours on the GPU: a fresh backend and datasets on `ctx` (which the caller destroys). */
export async function oursGpu(ctx: GpuContext, mnist: Mnist, spec: ModelSpec): Promise<TrainingEngine> {
  const gpu = await oursGpuBackend(ctx);
  const data = gpuDatasets(gpu, mnist);
  const engine = oursEngine('ours-gpu', gpu, data, spec, GPU_HOW);
  const memory = () => {
    const s = ctx.pool.stats();
    return { bytes_in_use: s.bytesInUse, bytes_allocated: s.bytesAllocated, buffers_allocated: s.buffersAllocated };
  };
  return { ...engine, memory, dispose: () => (engine.dispose(), data.train.dispose(), data.test.dispose()) };
}

export function oursCpu(mnist: Mnist, spec: ModelSpec): TrainingEngine {
  const cpu = new CpuBackend('f32');
  return oursEngine('ours-cpu', cpu, cpuDatasets(cpu, mnist), spec, CPU_HOW);
}

const GPU_FUSED_HOW =
  'GpuBackend: the same net and SGD through the fused step (planFusedStep: shaders/mlp-step.wgsl, the whole step in two dispatches, ' +
  'the form for this adapter), one command buffer per step; the rows gathered from the resident bytes by the kernel itself';

/** Ours on the GPU through the fused step (the Trainer's default for this net on a GPU): the same net, SGD and batches. */
export async function oursGpuFused(ctx: GpuContext, mnist: Mnist, spec: ModelSpec, batch: number): Promise<TrainingEngine> {
  const gpu = await oursGpuBackend(ctx);
  const data = gpuDatasets(gpu, mnist);
  const net = new MultiLayerNet(gpu, { hiddenSizes: [spec.hidden], seed: spec.seed });
  const sgd = new SGD(gpu, spec.lr);
  const fused = planFusedStep(net, sgd, data.train, batch);
  if (typeof fused === 'string') throw new Error(`ours-gpu-fused: ${fused}`);
  await fused.prepare();
  fused.load();
  let loss: GpuTensor | undefined;
  return {
    name: 'ours-gpu-fused',
    label: gpu.label,
    how: GPU_FUSED_HOW,
    step(indices) {
      loss = fused.step(indices);
      gpu.flush();
    },
    async readLoss() {
      if (!loss) throw new Error('ours-gpu-fused: readLoss before any step');
      return (await gpu.read(loss))[0]!;
    },
    testAccuracy: () => {
      fused.store();
      return new Trainer(net, data.train, data.test, sgd).evaluate(data.test);
    },
    dispose: () => (fused.dispose(), net.dispose(), data.train.dispose(), data.test.dispose()),
  };
}

/**
 * The gpu-vs-cpu section: our two devices on `ctx` and the CPU, the plan's batches, interleaved;
 * with `fused`, the GPU device runs the fused step instead of the layer-by-layer one.
 */
export async function oursGpuVsCpu(ctx: GpuContext, mnist: Mnist, plan: Plan, progress: (line: string) => void, fused = false): Promise<GpuVsCpuResult> {
  const spec = { hidden: plan.hidden, lr: plan.lr, seed: plan.seed };
  const batches = batchSchedule(plan.seed, mnist.train.count, plan.batch, gpuVsCpuBatches(plan.gpuVsCpu));
  const gpu = fused ? await oursGpuFused(ctx, mnist, spec, plan.batch) : await oursGpu(ctx, mnist, spec);
  const cpu = oursCpu(mnist, spec);
  try {
    return await gpuVsCpu(gpu, cpu, batches, plan.gpuVsCpu, progress);
  } finally {
    gpu.dispose();
    cpu.dispose();
  }
}

const CONV_GPU_HOW =
  'GpuBackend: SimpleConvNet (Conv1, Relu1, Pool1, Affine1, Relu2, Affine2, SoftmaxWithLoss; the first convolution computes no data gradient) and Adam, ' +
  'one command buffer per step; MNIST resident on the GPU as bytes, each batch gathered there and viewed as [n, 1, 28, 28]; loss read with GpuTensor.read; kernels per adapter';
const CONV_CPU_HOW = 'CpuBackend (f32 storage, f64 accumulation, plain TypeScript loops, one thread), the same SimpleConvNet and Adam';

/** Ours training SimpleConvNet on the GPU: a fresh backend and datasets on `ctx` (which the caller destroys). */
export async function oursConvGpu(ctx: GpuContext, mnist: Mnist, spec: ConvSpec): Promise<ConvEngine> {
  const gpu = await oursGpuBackend(ctx);
  const data = gpuDatasets(gpu, mnist);
  const engine = oursConvEngine('ours-gpu', gpu, data, spec, CONV_GPU_HOW);
  return { ...engine, dispose: () => (engine.dispose(), data.train.dispose(), data.test.dispose()) };
}

export function oursConvCpu(mnist: Mnist, spec: ConvSpec): ConvEngine {
  const cpu = new CpuBackend('f32');
  return oursConvEngine('ours-cpu', cpu, cpuDatasets(cpu, mnist), spec, CONV_CPU_HOW);
}
