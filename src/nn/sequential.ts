import type { Backend } from '../backend/backend.js';
import { sameShape, ShapeError, shapeStr, sizeOf, type Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { preparesFor, type ForwardMode, type Layer, type NamedTensor, type Param } from './layer.js';
import { Affine, type SoftmaxWithLoss } from './layers.js';

/** What a Sequential cannot learn from its layers. */
export interface SequentialOptions {
  /** λ of the L2 weight decay: the loss gains 0.5·λ·Σ‖W‖² over the Affine weights (not the biases), each dW gains λ·W. */
  weightDecay?: number;
  /** The number of classes; by default the last Affine layer's output width. */
  outputSize?: number;
  /**
   * The shape of one sample as the first layer takes it, e.g. [1, 28, 28] for a convnet: a batch
   * of flat rows (as datasets gather them) is viewed as [batch, ...inputShape] without a copy.
   * By default the batch goes in as it comes.
   */
  inputShape?: Shape;
}

/**
 * A net as the book builds one: `self.layers = OrderedDict()`, which predict walks in order and
 * the gradient walks in reverse from `self.lastLayer` (SoftmaxWithLoss). Any layer that
 * implements Layer fits in the list; the net neither knows nor cares which kinds it holds,
 * except that weight decay applies to the Affine weights, as in the book.
 */
export class Sequential<T extends Tensor> {
  readonly weightDecay: number;
  readonly outputSize: number;
  readonly inputShape: Shape | undefined;

  constructor(
    readonly backend: Backend<T>,
    /** The ordered list; the names are the book's keys ('Affine1', 'Relu1', …). */
    readonly layers: Layer<T>[],
    readonly lastLayer: SoftmaxWithLoss<T>,
    options: SequentialOptions = {},
  ) {
    this.weightDecay = options.weightDecay ?? 0;
    if (!Number.isFinite(this.weightDecay) || this.weightDecay < 0) throw new RangeError(`network: weight decay must be a finite number >= 0, got ${this.weightDecay}`);
    const outputSize = options.outputSize ?? this.affines.at(-1)?.W.value.shape[1];
    if (outputSize === undefined) throw new Error('network: no Affine layer to take the output size from; pass outputSize');
    this.outputSize = outputSize;
    this.inputShape = options.inputShape;
  }

  /** x as the first layer takes it: a view of [batch, ...inputShape] when the net has an input shape. */
  private shaped(x: T): T {
    const shape = this.inputShape;
    if (!shape || sameShape(x.shape.slice(1), shape)) return x;
    const batch = x.shape[0] ?? 0;
    if (x.shape.length === 0 || x.size !== batch * sizeOf(shape)) {
      throw new ShapeError(`network: input ${shapeStr(x.shape)} is not a batch of samples of shape ${shapeStr(shape)}`);
    }
    return this.backend.reshape(x, [batch, ...shape]);
  }

  /**
   * Rows per forward pass when scoring a whole set: convolutions' activations are large (2,000
   * images of SimpleConvNet's Conv1 output, 69 KB each, exceed a 128 MiB storage buffer).
   */
  get evalChunk(): number {
    return preparesFor(this.layers).conv ? 500 : 2_000;
  }

  /** The Affine layers in order: their weights are what weight decay shrinks. */
  get affines(): Affine<T>[] {
    return this.layers.filter((l): l is Affine<T> => l instanceof Affine);
  }

  /** The trainable parameters in layer order: W1, b1, gamma1, beta1, W2, … */
  params(): Param<T>[] {
    return this.layers.flatMap((l) => l.params());
  }

  /**
   * Everything a saved model or checkpoint holds: the parameters, then every layer's state
   * (BatchNorm's running statistics: not trained by gradients, but inference needs them).
   */
  tensors(): NamedTensor<T>[] {
    const params = this.params().map(({ name, value }) => ({ name, value }));
    return [...params, ...this.layers.flatMap((l) => l.state())];
  }

  /**
   * Scores (logits) for a batch x. Inference unless `mode.train` (the book's train_flg):
   * BatchNorm then uses the batch's statistics and moves its running ones, Dropout drops units.
   */
  predict(x: T, mode: ForwardMode = { train: false }): T {
    let h = this.shaped(x);
    for (const layer of this.layers) h = layer.forward(h, mode);
    return h;
  }

  /**
   * Batch-mean cross-entropy (plus the weight-decay term when λ > 0), a tensor of shape [].
   * A training forward by default, as the gradient needs.
   */
  loss(x: T, t: T, mode: ForwardMode = { train: true }): T {
    const loss = this.lastLayer.forward(this.predict(x, mode), t);
    if (this.weightDecay > 0) {
      for (const { W } of this.affines) {
        const squares = this.backend.sumSquares(W.value);
        this.backend.addScaled(loss, squares, 0.5 * this.weightDecay);
        this.backend.dispose(squares);
      }
    }
    return loss;
  }

  /**
   * Forward (training mode, dropout masks of `step`) and backward; the gradients stay in each
   * Param's `grad`. Returns the loss.
   */
  gradient(x: T, t: T, step = 0): T {
    const loss = this.loss(x, t, { train: true, step });
    let dout: T | undefined = this.lastLayer.backward();
    for (let i = this.layers.length - 1; i >= 0; i--) {
      if (!dout) throw new Error(`${this.layers[i + 1]!.name} computes no input gradient, but ${this.layers[i]!.name} before it needs one`);
      dout = this.layers[i]!.backward(dout);
    }
    if (this.weightDecay > 0) for (const { W } of this.affines) this.backend.addScaled(W.grad!, W.value, this.weightDecay);
    return loss;
  }

  /** Fraction of rows whose highest score is the label. */
  async accuracy(x: T, t: T): Promise<number> {
    const count = this.backend.countCorrect(this.predict(x), t);
    const [correct] = await this.backend.read(count);
    this.backend.dispose(count);
    return x.shape[0] === 0 ? 0 : correct! / x.shape[0]!;
  }

  /** Copies another net's parameters and state (same architecture, any backend) into this one. */
  async copyParamsFrom<U extends Tensor>(other: Pick<Sequential<U>, 'backend' | 'tensors'>): Promise<void> {
    const mine = this.tensors();
    const theirs = other.tensors();
    for (let i = 0; i < mine.length; i++) {
      this.backend.write(mine[i]!.value, await other.backend.read(theirs[i]!.value));
    }
  }

  dispose(): void {
    for (const layer of this.layers) layer.dispose();
    this.lastLayer.dispose();
  }
}
