/**
 * Three of the book's layers, Convolution → Relu → Pooling (max), run as one: what a convnet's
 * list holds where the book writes conv - relu - pool. The values and gradients are those of the
 * three layers one after another (the tests hold them to it); the work is not:
 * - forward, one pass writes the pooled output and its argmax. The convolution's and the ReLU's
 *   outputs (4x the pooled size for 2x2 windows) are never stored or read back;
 * - backward, the filter gradient sums only over the positions the pooling took (a quarter of
 *   them, fewer where ReLU passed nothing), instead of routing dout back through pooling and
 *   ReLU into a mostly-zero tensor of the convolution's size and summing over all of it.
 * On a real GPU that is 2 dispatches fewer each way and ~5x less memory traffic over the
 * activations; on a software adapter it is most of what separates the passes from the floor.
 *
 * The three layers stay inside, unchanged: their names, settings and parameters (W1, b1) are the
 * net's, so model files and optimizers see the same net as without fusing.
 */
import type { Backend } from '../backend/backend.js';
import { convOutputShape, convGeometry } from '../backend/geometry.js';
import type { Tensor } from '../tensor/tensor.js';
import { Convolution, Pooling } from './conv-layers.js';
import type { Layer, LayerNeeds, NamedTensor, Param } from './layer.js';
import { Relu } from './layers.js';

export class ConvReluPool<T extends Tensor> implements Layer<T> {
  /** The three names joined: 'Conv1-Relu1-Pool1'. */
  readonly name: string;
  private x: T | undefined;
  private y: T | undefined;
  private argmax: T | undefined;
  private dx: T | undefined;

  constructor(
    private readonly backend: Backend<T>,
    readonly conv: Convolution<T>,
    readonly relu: Relu<T>,
    readonly pool: Pooling<T>,
  ) {
    this.name = `${conv.name}-${relu.name}-${pool.name}`;
  }

  /** The book's layers this one runs, in the list's order. */
  get parts(): [Convolution<T>, Relu<T>, Pooling<T>] {
    return [this.conv, this.relu, this.pool];
  }

  forward(x: T): T {
    this.x = x;
    this.backend.dispose(this.y, this.argmax);
    ({ y: this.y, argmax: this.argmax } = this.backend.convReluPoolForward(x, this.conv.W.value, this.conv.b.value, this.conv.args, this.pool.args));
    return this.y;
  }

  backward(dout: T): T | undefined {
    if (!this.x || !this.argmax) throw new Error(`${this.name}: backward before forward`);
    const be = this.backend;
    const { W, b, args } = this.conv;
    be.dispose(W.grad, b.grad, this.dx);
    ({ dw: W.grad, db: b.grad } = be.convPoolBackwardFilter(dout, this.argmax, this.x, W.value, args, this.pool.args));
    if (args.data) return (this.dx = undefined);
    // The input's gradient needs the convolution's: dout at each argmax, zeros elsewhere.
    const convShape = convOutputShape(convGeometry(this.x.shape, W.value.shape, args));
    const dconv = be.maxPoolBackward(dout, this.argmax, convShape, this.pool.args);
    this.dx = be.convBackwardData(dconv, W.value, this.x.shape, args);
    be.dispose(dconv);
    return this.dx;
  }

  /** The pooled output of the last forward (the demo draws its feature maps). */
  get lastOutput(): T | undefined {
    return this.y;
  }

  params(): Param<T>[] {
    return this.conv.params();
  }

  state(): NamedTensor<T>[] {
    return [];
  }

  kernels(): LayerNeeds {
    // A layer that passes a gradient back also routes it through the pooling and col2im.
    return this.conv.args.data ? { convPool: true } : { convPool: true, conv: true, pooling: true };
  }

  dispose(): void {
    this.backend.dispose(this.y, this.argmax, this.dx);
    for (const part of this.parts) part.dispose();
  }
}

/**
 * The list with each Convolution → Relu → Pooling run replaced by a ConvReluPool of those three
 * layers; every other layer stays where it was. The book's nets are built as its lists, then
 * fused by this (SimpleConvNetConfig.fused, DeepConvNetConfig.fused).
 */
export function fuseConvReluPool<T extends Tensor>(backend: Backend<T>, layers: readonly Layer<T>[]): Layer<T>[] {
  const fused: Layer<T>[] = [];
  for (let i = 0; i < layers.length; i++) {
    const [conv, relu, pool] = layers.slice(i, i + 3);
    if (conv instanceof Convolution && relu instanceof Relu && pool instanceof Pooling) {
      fused.push(new ConvReluPool(backend, conv, relu, pool));
      i += 2;
    } else {
      fused.push(layers[i]!);
    }
  }
  return fused;
}

/** The book's layers of a list, with each fused block unfolded into its parts (model files list these). */
export function bookLayers<T extends Tensor>(layers: readonly Layer<T>[]): Layer<T>[] {
  return layers.flatMap((l) => (l instanceof ConvReluPool ? l.parts : [l]));
}
