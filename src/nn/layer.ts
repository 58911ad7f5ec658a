/**
 * What every layer of a net is to the net that holds it (the book's layers all have forward and
 * backward, and a net's `self.layers` walks them without knowing which is which): the net
 * forwards in order and backwards in reverse, gathers parameters for the optimizer and tensors
 * for a model file, and asks up front which backend kernels the layers will need.
 */
import type { LayerKernels } from '../backend/ops.js';
import type { Tensor } from '../tensor/tensor.js';

/** A trainable tensor and the gradient the last backward left for it. */
export interface Param<T extends Tensor> {
  name: string;
  value: T;
  grad: T | undefined;
}

/** A tensor a saved model holds: a parameter, or state such as BatchNorm's running statistics. */
export interface NamedTensor<T extends Tensor> {
  name: string;
  value: T;
}

/** How a forward pass runs: training (batch statistics, dropout masks drawn for `step`) or inference. */
export interface ForwardMode {
  train: boolean;
  /** The training step, which picks the dropout masks (a resumed run redraws the same ones). */
  step?: number;
}

/**
 * The backend kernels a layer needs beyond those every net uses (matmuls, activations, softmax,
 * reductions, optimizers): the shape of GpuBackend.prepare's second argument, so a GPU can
 * compile them before the first step instead of during it.
 */
export type LayerNeeds = LayerKernels;

/**
 * One layer of a net, as the book writes each: forward, backward, and the parameters it trains.
 */
export interface Layer<T extends Tensor> {
  /** Its key in the net's ordered list, as in the book's OrderedDict: 'Affine1', 'Relu1', … */
  readonly name: string;
  /** The output for x; the layer keeps what its backward needs and owns the tensor it returns. */
  forward(x: T, mode: ForwardMode): T;
  /**
   * The gradient with respect to the last forward's input, leaving its parameters' gradients in
   * their `grad`; undefined where nothing before it needs one (a first layer fed with data).
   */
  backward(dout: T): T | undefined;
  /** Its trainable parameters; [] for a layer without any (Relu, Dropout). */
  params(): Param<T>[];
  /** Tensors a saved model must keep although no gradient trains them (BatchNorm's running statistics). */
  state(): NamedTensor<T>[];
  /** The kernels its forward and backward will dispatch, beyond those every net uses. */
  kernels(): LayerNeeds;
  dispose(): void;
}

/** Everything a list of layers needs prepared: GpuBackend.prepare([], preparesFor(net.layers)). */
export function preparesFor<T extends Tensor>(layers: readonly Layer<T>[]): LayerNeeds {
  const needs = layers.map((l) => l.kernels());
  const any = (key: keyof LayerNeeds) => needs.some((n) => n[key]);
  return { dropout: any('dropout'), batchNorm: any('batchNorm'), conv: any('conv'), pooling: any('pooling'), convPool: any('convPool') };
}
