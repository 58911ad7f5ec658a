/**
 * What the panels need to know about the net a session trains, whichever of the book's nets it
 * is: its name as the page shows it, and where a convnet keeps its first layers.
 */
import { bookLayers, Convolution, ConvReluPool, MultiLayerNet, Pooling, Relu, SimpleConvNet, type Sequential, type Tensor } from 'webgpu-backprop';

/** '784-50-10' for an MLP (as the page always said), the book's class name for a convnet. */
export function netName(net: Sequential<Tensor>): string {
  if (net instanceof MultiLayerNet) return net.layerSizes().join('-');
  if (net instanceof SimpleConvNet) return 'SimpleConvNet';
  return net.constructor.name;
}

/**
 * A convnet's first convolution, the ReLU after it and the first pooling layer: SimpleConvNet's
 * Conv1, Relu1 and Pool1, whose outputs the page draws as feature maps. Undefined for an MLP.
 */
export interface FirstConvStages<T extends Tensor> {
  conv: Convolution<T>;
  relu: Relu<T>;
  pool: Pooling<T>;
  /** The layer that runs the three as one, when the net fused them (its output is Pool1's). */
  fused?: ConvReluPool<T>;
}

export function firstConvStages<T extends Tensor>(net: Sequential<T>): FirstConvStages<T> | undefined {
  const first = net.layers.find((l) => l instanceof Convolution || l instanceof ConvReluPool);
  if (first instanceof ConvReluPool) return { conv: first.conv, relu: first.relu, pool: first.pool, fused: first };
  const layers = bookLayers(net.layers);
  const conv = layers.findIndex((l) => l instanceof Convolution);
  if (conv < 0) return undefined;
  const relu = layers[conv + 1];
  const pool = layers.slice(conv + 1).find((l): l is Pooling<T> => l instanceof Pooling);
  if (!(relu instanceof Relu) || !pool) return undefined;
  return { conv: layers[conv] as Convolution<T>, relu, pool };
}

/** Whether this net has convolutions (their activations are large: the page evaluates it in smaller chunks). */
export function isConvolutional(net: Sequential<Tensor>): boolean {
  return bookLayers(net.layers).some((l) => l instanceof Convolution);
}
