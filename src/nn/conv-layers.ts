/**
 * The book's ch. 7 layers, written once against the Backend interface like those of ch. 5. Images
 * are NCHW ([batch, channels, height, width]) and filters OIHW ([out, in, kh, kw], the layout of
 * PyTorch's Conv2d), so a saved model's conv weights load there unchanged.
 */
import type { Backend } from '../backend/backend.js';
import type { ConvArgs, PoolArgs } from '../backend/ops.js';
import type { Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Layer, LayerNeeds, NamedTensor, Param } from './layer.js';
import { ParameterFreeLayer } from './layers.js';

/** How a Convolution layer is named, strided and padded, and whether its input is data. */
export interface ConvolutionOptions extends ConvArgs {
  /** Its key in the net's list (default 'Conv'). */
  name?: string;
  /** The names of W and b (default ['W', 'b']). */
  paramNames?: [string, string];
  /** Set on a first layer: its input is the data batch, whose gradient nothing uses, so none is computed. */
  data?: boolean;
}

/**
 * The book's Convolution(W, b, stride, pad): y = W ⊛ x + b. Keeps x; backward gives dW and db
 * (the book's colᵀ·dout and Σ dout) and dx (the book's col2im of dout·W).
 */
export class Convolution<T extends Tensor> implements Layer<T> {
  readonly name: string;
  readonly W: Param<T>;
  readonly b: Param<T>;
  readonly args: Required<ConvArgs>;
  private x: T | undefined;
  private y: T | undefined;
  private dx: T | undefined;

  constructor(
    private readonly backend: Backend<T>,
    W: T,
    b: T,
    { name = 'Conv', paramNames = ['W', 'b'], stride = 1, pad = 0, data = false }: ConvolutionOptions = {},
  ) {
    this.name = name;
    this.W = { name: paramNames[0], value: W, grad: undefined };
    this.b = { name: paramNames[1], value: b, grad: undefined };
    this.args = { stride, pad, data };
  }

  forward(x: T): T {
    this.x = x;
    this.backend.dispose(this.y);
    this.y = this.backend.convForward(x, this.W.value, this.b.value, this.args);
    return this.y;
  }

  backward(dout: T): T | undefined {
    if (!this.x) throw new Error(`Convolution ${this.W.name}: backward before forward`);
    const be = this.backend;
    be.dispose(this.W.grad, this.b.grad, this.dx);
    ({ dw: this.W.grad, db: this.b.grad } = be.convBackwardFilter(dout, this.x, this.W.value, this.args));
    this.dx = this.args.data ? undefined : be.convBackwardData(dout, this.W.value, this.x.shape, this.args);
    return this.dx;
  }

  /** The output of the last forward (the demo draws its feature maps). */
  get lastOutput(): T | undefined {
    return this.y;
  }

  params(): Param<T>[] {
    return [this.W, this.b];
  }

  state(): NamedTensor<T>[] {
    return [];
  }

  kernels(): LayerNeeds {
    return { conv: true };
  }

  dispose(): void {
    this.backend.dispose(this.y, this.dx, this.W.grad, this.b.grad, this.W.value, this.b.value);
  }
}

/** How a Pooling layer is named and what window it takes the max over. */
export interface PoolingOptions extends PoolArgs {
  /** Its key in the net's list (default 'Pool'). */
  name?: string;
}

/**
 * The book's Pooling(pool_h, pool_w, stride, pad), max pooling: keeps the index of each
 * window's max, and backward routes each gradient there (the book's arg_max).
 */
export class Pooling<T extends Tensor> extends ParameterFreeLayer<T> {
  readonly name: string;
  readonly args: Required<PoolArgs>;
  private xShape: Shape | undefined;
  private y: T | undefined;
  private argmax: T | undefined;
  private dx: T | undefined;

  constructor(
    private readonly backend: Backend<T>,
    { name = 'Pool', poolH, poolW, stride = 1, pad = 0 }: PoolingOptions,
  ) {
    super();
    this.name = name;
    this.args = { poolH, poolW, stride, pad };
  }

  forward(x: T): T {
    this.xShape = x.shape;
    this.backend.dispose(this.y, this.argmax);
    ({ y: this.y, argmax: this.argmax } = this.backend.maxPoolForward(x, this.args));
    return this.y;
  }

  backward(dout: T): T {
    if (!this.argmax || !this.xShape) throw new Error(`Pooling ${this.name}: backward before forward`);
    this.backend.dispose(this.dx);
    this.dx = this.backend.maxPoolBackward(dout, this.argmax, this.xShape, this.args);
    return this.dx;
  }

  /** The output of the last forward (the demo draws its feature maps). */
  get lastOutput(): T | undefined {
    return this.y;
  }

  override kernels(): LayerNeeds {
    return { pooling: true };
  }

  dispose(): void {
    this.backend.dispose(this.y, this.argmax, this.dx);
  }
}
