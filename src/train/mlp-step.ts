/**
 * A fully connected net's whole training step in two dispatches (shaders/mlp-step.wgsl): the
 * book's Affine → Relu/Sigmoid → … → Affine → SoftmaxWithLoss, trained by any of our optimizers
 * on a GPU-resident dataset. On a real GPU the host pays 20-35 µs for every dispatch whatever it
 * computes, and the layer-by-layer step of the seed's net records 18; this one records 2 (and the
 * Trainer one more, to file the loss).
 *
 * The layer-by-layer path stays the book's structure and the reference: the fused kernels work
 * on a packed copy of the parameters (every W and b in one buffer, llm.c's way) and of the
 * optimizer's state. `load` copies the net's tensors in, `store` copies them back; the Trainer
 * does both around each readback window, so evaluations, checkpoints, divergence restores and
 * model files see the layers' own tensors as always. Copies are commands, not dispatches.
 */
import { GpuBackend } from '../backend/gpu-backend.js';
import type { Dataset } from '../data/dataset.js';
import { GpuDataset } from '../data/gpu-dataset.js';
import { mlpLayout, mlpRowsGpu, mlpRowsKernel, mlpUpdateGpu, mlpUpdateKernel, type MlpActivation, type MlpLayout } from '../kernels/mlp-step.js';
import { OPTIMIZER_SPEC } from '../kernels/optimizers.js';
import type { Layer, Param } from '../nn/layer.js';
import { Affine, Relu, Sigmoid } from '../nn/layers.js';
import { Sequential } from '../nn/sequential.js';
import { GpuTensor } from '../tensor/gpu-tensor.js';
import { ShapeError } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { isFusable, type FusableOptimizer, type Optimizer } from './optimizer.js';
import { NO_TRACER, type StepTracer } from './step-tracer.js';

/** The widths and activations of a list Affine, (Relu | Sigmoid, Affine)*; or why the list is not one. */
function mlpShape<T extends Tensor>(layers: readonly Layer<T>[]): { widths: number[]; activations: MlpActivation[]; affines: Affine<T>[] } | string {
  const widths: number[] = [];
  const activations: MlpActivation[] = [];
  const affines: Affine<T>[] = [];
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    if (i % 2 === 0) {
      if (!(layer instanceof Affine)) return `${layer.name} is not an Affine layer (the fused step runs Affine, Relu/Sigmoid, …, Affine)`;
      const [inputs, outputs] = layer.W.value.shape as [number, number];
      if (i === 0) widths.push(inputs);
      widths.push(outputs);
      affines.push(layer);
    } else if (layer instanceof Relu) {
      activations.push('relu');
    } else if (layer instanceof Sigmoid) {
      activations.push('sigmoid');
    } else {
      return `${layer.name} is neither Relu nor Sigmoid (the fused step runs Affine, Relu/Sigmoid, …, Affine)`;
    }
  }
  if (layers.length % 2 === 0) return 'the last layer before SoftmaxWithLoss is not an Affine layer';
  return { widths, activations, affines };
}

/**
 * A fused step for `net` trained by `optimizer` on `train` in batches of `batchSize`, or why
 * there is none: the net must be a Sequential of Affine and Relu/Sigmoid layers ending in
 * SoftmaxWithLoss, without weight decay, on a GpuBackend, with its data in a GpuDataset.
 */
export function planFusedStep<T extends Tensor>(net: unknown, optimizer: Optimizer<T>, train: Dataset<T>, batchSize: number): FusedMlpStep | string {
  if (!(net instanceof Sequential)) return 'the net is not a Sequential';
  if (!(net.backend instanceof GpuBackend)) return 'the net is not on a GPU device';
  if (net.weightDecay > 0) return 'weight decay is not in the fused kernels';
  if (net.inputShape) return 'the net views its input as images';
  if (!(train instanceof GpuDataset)) return 'the training set is not a GpuDataset (resident bytes)';
  if (!isFusable(optimizer)) return `the optimizer ${optimizer.name} has no fused update rule`;
  const shape = mlpShape(net.layers as Layer<GpuTensor>[]);
  if (typeof shape === 'string') return shape;
  if (shape.widths[0] !== train.features) return `the first layer takes ${shape.widths[0]} inputs, the dataset has ${train.features} features`;
  // What the kernels cannot hold (depth, widths, input words), in mlpLayout's own words.
  let layout: MlpLayout;
  try {
    layout = mlpLayout(shape.widths, shape.activations, batchSize, { software: net.backend.kernels.fusedStepVariant === 'software' });
  } catch (e) {
    if (e instanceof ShapeError) return e.message;
    throw e;
  }
  return new FusedMlpStep(
    net.backend,
    layout,
    shape.affines.flatMap((a) => [a.W, a.b]) as Param<GpuTensor>[],
    optimizer as unknown as FusableOptimizer<GpuTensor>,
    train,
  );
}

/** Steps whose minibatch indices share one buffer (one write before the submit that runs them). */
const STEPS_PER_INDEX_BUFFER = 32;

/** The minibatch indices of steps recorded since the last submit, written right before it. */
interface StagedIndices {
  tensor: GpuTensor;
  values: Uint32Array;
  steps: number;
}

/** See the module comment. Made by planFusedStep. */
export class FusedMlpStep {
  private readonly theta: GpuTensor;
  private readonly scratch: GpuTensor;
  private readonly state: GpuTensor | undefined;
  private readonly loss: GpuTensor;
  /** Where each parameter starts in theta (and in each slot of state), in f32 words. */
  private readonly offsets: number[];
  private staged: StagedIndices[] = [];
  /** Host arrays of staged indices already written, for the next steps (no allocation a step). */
  private spare: Uint32Array[] = [];
  private readonly unhook: () => void;

  constructor(
    private readonly backend: GpuBackend,
    readonly layout: MlpLayout,
    /** W1, b1, W2, …: theta's order. */
    private readonly params: readonly Param<GpuTensor>[],
    private readonly optimizer: FusableOptimizer<GpuTensor>,
    private readonly train: GpuDataset,
  ) {
    const ctx = backend.ctx;
    this.theta = GpuTensor.empty(ctx, [layout.size]);
    this.scratch = GpuTensor.empty(ctx, [layout.scratch]);
    const slots = optimizer.rule === 'sgd' ? 0 : OPTIMIZER_SPEC[optimizer.rule].state.length;
    this.state = slots ? GpuTensor.empty(ctx, [slots * layout.size]) : undefined;
    this.loss = GpuTensor.empty(ctx, []);
    let at = 0;
    this.offsets = params.map((p) => {
      const o = at;
      at += p.value.size;
      return o;
    });
    this.unhook = ctx.beforeSubmit(() => this.writeIndices());
  }

  /**
   * One write per buffer of the indices of every step recorded since the last submit, just
   * before it: a submit of K steps uploads its minibatches once, not K times.
   */
  private writeIndices(): void {
    for (const g of this.staged) {
      this.backend.ctx.device.queue.writeBuffer(g.tensor.buffer, 0, g.values, 0, g.steps * this.layout.batch);
      // Back to the pool, which hands it out again only after this submit.
      g.tensor.dispose();
      this.spare.push(g.values);
    }
    this.staged = [];
  }

  /**
   * Compiles the step's two pipelines asynchronously, as GpuBackend.prepare does the layers':
   * compiled on first use instead, the row kernel stalls the first step by seconds on a software
   * adapter and would freeze a page while it compiles.
   */
  prepare(): Promise<void> {
    return this.backend.ctx.pipelines.prepare([mlpRowsKernel(this.layout), mlpUpdateKernel(this.optimizer.rule, false, this.layout)]);
  }

  /** Copies the net's parameters and the optimizer's state into the packed buffers: before a run of fused steps. */
  load(): void {
    this.transfer('in');
  }

  /** Copies the packed buffers back into the net's parameters and the optimizer's state: after a run of fused steps. */
  store(): void {
    this.transfer('out');
  }

  private transfer(direction: 'in' | 'out'): void {
    const ctx = this.backend.ctx;
    const size = this.layout.size;
    this.params.forEach((p, i) => {
      const at = this.offsets[i]! * 4;
      const bytes = p.value.size * 4;
      if (direction === 'in') ctx.copy(p.value.buffer, this.theta.buffer, bytes, 0, at);
      else ctx.copy(this.theta.buffer, p.value.buffer, bytes, at, 0);
      if (!this.state) return;
      this.optimizer.stateTensors(p).forEach((s, slot) => {
        const sAt = (slot * size + this.offsets[i]!) * 4;
        if (direction === 'in') ctx.copy(s.buffer, this.state!.buffer, bytes, 0, sAt);
        else ctx.copy(this.state!.buffer, s.buffer, bytes, sAt, 0);
      });
    });
  }

  /**
   * Records one training step on dataset rows `indices` (the forward, the backward and the
   * optimizer's update of every parameter, counted by the optimizer as an update) and returns
   * its batch-mean loss, a tensor of shape [] that the next step overwrites. `tracer` labels
   * the two dispatches (a trace shows the row kernel as the forward, the other as the update).
   */
  step(indices: Uint32Array, tracer: StepTracer = NO_TRACER): GpuTensor {
    this.checkRows(indices);
    const ctx = this.backend.ctx;
    const batch = this.layout.batch;
    let group = this.staged.at(-1);
    if (!group || group.steps === STEPS_PER_INDEX_BUFFER) {
      const values = this.spare.pop() ?? new Uint32Array(STEPS_PER_INDEX_BUFFER * batch);
      group = { tensor: GpuTensor.empty(ctx, [STEPS_PER_INDEX_BUFFER * batch], 'u32'), values, steps: 0 };
      this.staged.push(group);
    }
    const first = group.steps * batch;
    group.values.set(indices, first);
    group.steps += 1;
    const idx = group.tensor;
    const data = this.train.resident;
    tracer.label('forward', 'fused: rows, forward, softmax, backward', () => mlpRowsGpu(ctx, this.layout, data, idx, this.theta, this.scratch, first));
    const hyper = this.optimizer.countUpdate();
    tracer.label('update', `fused: gradients, ${this.optimizer.name}`, () =>
      mlpUpdateGpu(ctx, this.layout, this.optimizer.rule, hyper, data, idx, this.theta, this.scratch, this.state, this.loss, undefined, first),
    );
    return this.loss;
  }

  /**
   * The fused kernels' loss and gradient of every parameter for dataset rows `indices`, by name
   * (W1, b1, …), from the net's current parameters; nothing moves. For the gradient check.
   */
  async gradient(indices: Uint32Array): Promise<{ loss: number; grads: Map<string, Float64Array> }> {
    const ctx = this.backend.ctx;
    this.checkRows(indices);
    this.load();
    const idx = GpuTensor.from(ctx, indices, [indices.length], 'u32');
    const grads = GpuTensor.empty(ctx, [this.layout.size]);
    const data = this.train.resident;
    mlpRowsGpu(ctx, this.layout, data, idx, this.theta, this.scratch);
    mlpUpdateGpu(ctx, this.layout, this.optimizer.rule, { lr: 0 }, data, idx, this.theta, this.scratch, undefined, this.loss, grads);
    idx.dispose();
    const [all, loss] = await Promise.all([grads.read(), this.loss.read()]);
    grads.dispose();
    const byName = new Map(this.params.map((p, i) => [p.name, Float64Array.from(all.subarray(this.offsets[i]!, this.offsets[i]! + p.value.size))]));
    return { loss: loss[0]!, grads: byName };
  }

  private checkRows(indices: Uint32Array): void {
    if (indices.length !== this.layout.batch) throw new RangeError(`fused step: ${indices.length} rows, but it was planned for batches of ${this.layout.batch}`);
    for (const i of indices) if (i >= this.train.count) throw new RangeError(`fused step: row ${i} is outside a dataset of ${this.train.count}`);
  }

  dispose(): void {
    // Steps recorded but not submitted still read their indices.
    this.writeIndices();
    this.unhook();
    for (const t of [this.theta, this.scratch, this.state, this.loss]) t?.dispose();
  }
}
