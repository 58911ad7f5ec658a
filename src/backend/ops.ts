/**
 * The types the Backend interface speaks: what a caller says to an op. They belong to the
 * backend, not to a kernel: layers write them, both backends read them, and each kernel
 * launcher imports the ones it implements from here.
 */
import type { Tensor } from '../tensor/tensor.js';

/** The elementwise function a matmul applies to its result, after the bias. */
export type Activation = 'none' | 'relu' | 'sigmoid';

/** A product's form: op(A)·op(B) with A and/or B read transposed, then an activation. */
export interface MatmulOptions {
  /** op(A) is Aᵀ: A is stored [K, M]. */
  transA?: boolean;
  /** op(B) is Bᵀ: B is stored [N, K]. */
  transB?: boolean;
  /** Default 'none'. */
  activation?: Activation;
}

/**
 * What a caller knows about an operand that is a data batch (a minibatch of samples, such as
 * the images a dataset gathered): written once and never changed after, and for images mostly
 * zeros. A backend may pick kernels for it; the result is the same either way.
 */
export interface DataOperand {
  /**
   * The image shape [rows, cols] that each row's columns are the pixels of, when known: the
   * GPU backend orders the pixels by it (imageStripOrder) when the product fits (rows·cols
   * equals the columns) and ignores it otherwise.
   */
  image?: readonly [number, number];
}

/** Everything a matmul call says beyond its operands. */
export interface MatmulArgs extends MatmulOptions {
  /** Added to every row of the product before the activation: shape [N]. */
  bias?: Tensor;
  /** A is a data batch (a first layer's input): the GPU may take the sparse kernels for it. */
  data?: DataOperand;
}

/** Batch normalization's hyperparameters: the book's momentum of the running statistics and eps. */
export interface BatchNormHyper {
  /** The fraction of their value the running statistics keep per training step. */
  momentum: number;
  /** Added to the variance under the square root. */
  eps: number;
}

/** Running mean and variance per column, updated in place by each training forward. */
export interface RunningStats<T> {
  mean: T;
  variance: T;
}

/** The optimizers of the book's common/optimizer.py that keep state (SGD has its own op). */
export type OptimizerKind = 'momentum' | 'nesterov' | 'adagrad' | 'rmsprop' | 'adam';

/**
 * Hyperparameters of one update. Each kind reads only its own: momentum (momentum, nesterov),
 * decay (rmsprop), beta1, beta2 and step (adam: t, counted from 1 as the book's `iter`).
 */
export interface OptimizerHyper {
  lr: number;
  momentum?: number;
  decay?: number;
  beta1?: number;
  beta2?: number;
  step?: number;
}

/**
 * A convolution's stride and zero padding, as the book's Convolution(W, b, stride=1, pad=0):
 * the same on both image axes.
 */
export interface ConvArgs {
  /** Default 1. */
  stride?: number;
  /** Zeros added on every side of the image; default 0. */
  pad?: number;
  /**
   * x is a data batch (a first layer's input images, mostly zeros on MNIST): the GPU may skip
   * the image rows that hold no ink. The result is the same either way.
   */
  data?: boolean;
}

/**
 * Max pooling's window and stride, as the book's Pooling(pool_h, pool_w, stride=1, pad=0). A
 * padded position counts as a zero, as the book's im2col pads; it never receives a gradient.
 */
export interface PoolArgs {
  poolH: number;
  poolW: number;
  /** Default 1 (the book's default; SimpleConvNet pools 2x2 with stride 2). */
  stride?: number;
  /** Default 0. */
  pad?: number;
}

/**
 * The kernel families beyond those every net uses that a net's layers need: what a GPU backend
 * compiles up front (GpuBackend.prepare), and what each layer declares (Layer.kernels).
 */
export interface LayerKernels {
  dropout?: boolean;
  batchNorm?: boolean;
  conv?: boolean;
  pooling?: boolean;
  /** The fused Conv → Relu → Pool block (convReluPoolForward, convPoolBackwardFilter). */
  convPool?: boolean;
}
