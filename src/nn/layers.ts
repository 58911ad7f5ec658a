/**
 * The book's layers (ch. 5), written once against the Backend interface so the same code
 * records GPU dispatches or computes on the CPU. Each layer keeps exactly the state its
 * backward needs and owns the tensors it returns: they stay valid until its next call.
 */
import type { Backend } from '../backend/backend.js';
import type { DataOperand } from '../backend/ops.js';
import { sizeOf, type Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ForwardMode, Layer, LayerNeeds, NamedTensor, Param } from './layer.js';

export type { Param } from './layer.js';

/** How an Affine layer is named, and whether its input is data. */
export interface AffineOptions {
  /** Its key in the net's list (default 'Affine'). */
  name?: string;
  /** The names of W and b (default ['W', 'b']). */
  paramNames?: [string, string];
  /**
   * Set on a first layer: its input is a data batch. Its products with x say so (the GPU may
   * skip x's zeros), and x's gradient, which nothing uses, is not computed.
   */
  data?: DataOperand;
}

/**
 * y = x·W + b. Keeps x; backward gives dW = xᵀ·dout, db = Σrows dout, dx = dout·Wᵀ. An input of
 * more than two dimensions (a convnet's pooled feature maps) is flattened per sample, as the
 * book's Affine does with x.reshape(x.shape[0], -1), and dx gets its shape back.
 */
export class Affine<T extends Tensor> implements Layer<T> {
  readonly name: string;
  readonly W: Param<T>;
  readonly b: Param<T>;
  private readonly data: DataOperand | undefined;
  private x: T | undefined;
  private xShape: Shape | undefined;
  private y: T | undefined;
  private dx: T | undefined;

  constructor(
    private readonly backend: Backend<T>,
    W: T,
    b: T,
    { name = 'Affine', paramNames = ['W', 'b'], data }: AffineOptions = {},
  ) {
    this.name = name;
    this.W = { name: paramNames[0], value: W, grad: undefined };
    this.b = { name: paramNames[1], value: b, grad: undefined };
    this.data = data;
  }

  forward(x: T): T {
    this.xShape = x.shape;
    // A view: nothing is copied.
    this.x = x.shape.length > 2 ? this.backend.reshape(x, [x.shape[0]!, sizeOf(x.shape.slice(1))]) : x;
    this.backend.dispose(this.y);
    this.y = this.backend.matmul(this.x, this.W.value, { bias: this.b.value, data: this.data });
    return this.y;
  }

  backward(dout: T): T | undefined {
    if (!this.x) throw new Error(`Affine ${this.W.name}: backward before forward`);
    const be = this.backend;
    be.dispose(this.W.grad, this.b.grad, this.dx);
    this.W.grad = be.matmul(this.x, dout, { transA: true, data: this.data });
    this.b.grad = be.sumColumns(dout);
    this.dx = this.data ? undefined : be.matmul(dout, this.W.value, { transB: true });
    return this.dx && this.xShape!.length > 2 ? be.reshape(this.dx, this.xShape!) : this.dx;
  }

  params(): Param<T>[] {
    return [this.W, this.b];
  }

  state(): NamedTensor<T>[] {
    return [];
  }

  kernels(): LayerNeeds {
    return {};
  }

  dispose(): void {
    this.backend.dispose(this.y, this.dx, this.W.grad, this.b.grad, this.W.value, this.b.value);
  }
}

/**
 * A layer with nothing to train or save and no kernels beyond those every net uses: the
 * activations. Dropout builds on it too.
 */
export abstract class ParameterFreeLayer<T extends Tensor> implements Layer<T> {
  abstract readonly name: string;
  abstract forward(x: T, mode: ForwardMode): T;
  abstract backward(dout: T): T | undefined;
  abstract dispose(): void;

  params(): Param<T>[] {
    return [];
  }

  state(): NamedTensor<T>[] {
    return [];
  }

  kernels(): LayerNeeds {
    return {};
  }
}

/** y = max(x, 0). Keeps the mask (1 where x > 0) that backward multiplies dout by. */
export class Relu<T extends Tensor> extends ParameterFreeLayer<T> {
  private y: T | undefined;
  private mask: T | undefined;
  private dx: T | undefined;

  constructor(
    private readonly backend: Backend<T>,
    readonly name = 'Relu',
  ) {
    super();
  }

  forward(x: T): T {
    this.backend.dispose(this.y, this.mask);
    ({ y: this.y, mask: this.mask } = this.backend.reluForward(x));
    return this.y;
  }

  backward(dout: T): T {
    if (!this.mask) throw new Error('Relu: backward before forward');
    this.backend.dispose(this.dx);
    this.dx = this.backend.reluBackward(dout, this.mask);
    return this.dx;
  }

  /** The mask of the last forward (the demo shows it). */
  get lastMask(): T | undefined {
    return this.mask;
  }

  dispose(): void {
    this.backend.dispose(this.y, this.mask, this.dx);
  }
}

/** y = 1 / (1 + e^-x). Keeps y: backward is dout·y·(1 - y). */
export class Sigmoid<T extends Tensor> extends ParameterFreeLayer<T> {
  private y: T | undefined;
  private dx: T | undefined;

  constructor(
    private readonly backend: Backend<T>,
    readonly name = 'Sigmoid',
  ) {
    super();
  }

  forward(x: T): T {
    this.backend.dispose(this.y);
    this.y = this.backend.sigmoidForward(x);
    return this.y;
  }

  backward(dout: T): T {
    if (!this.y) throw new Error('Sigmoid: backward before forward');
    this.backend.dispose(this.dx);
    this.dx = this.backend.sigmoidBackward(dout, this.y);
    return this.dx;
  }

  dispose(): void {
    this.backend.dispose(this.y, this.dx);
  }
}

/**
 * Softmax and cross-entropy together, as in the book: their combined gradient is simply
 * (y - t) / batch. Keeps y and t. Not a Layer: it takes the labels too and ends the net (the
 * book's `lastLayer`), and its backward starts from the loss, so it takes no dout.
 */
export class SoftmaxWithLoss<T extends Tensor> {
  private probs: T | undefined;
  private loss: T | undefined;
  private t: T | undefined;
  private dx: T | undefined;

  constructor(private readonly backend: Backend<T>) {}

  /** Returns the batch-mean loss as a tensor of shape []. */
  forward(x: T, t: T): T {
    this.backend.dispose(this.probs, this.loss);
    ({ probs: this.probs, loss: this.loss } = this.backend.softmaxCrossEntropy(x, t));
    this.t = t;
    return this.loss;
  }

  backward(): T {
    if (!this.probs || !this.t) throw new Error('SoftmaxWithLoss: backward before forward');
    this.backend.dispose(this.dx);
    this.dx = this.backend.softmaxCrossEntropyBackward(this.probs, this.t);
    return this.dx;
  }

  dispose(): void {
    this.backend.dispose(this.probs, this.loss, this.dx);
  }
}

/** The activation layers a MultiLayerNet chooses between. */
export type ActivationLayer<T extends Tensor> = Relu<T> | Sigmoid<T>;
