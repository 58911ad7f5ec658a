/**
 * What the panels need to know about the net a session trains, whichever of the book's nets it
 * is: its name as the page shows it, and where a convnet keeps its first layers.
 */
import { Convolution, MultiLayerNet, Pooling, Relu, SimpleConvNet, type Sequential, type Tensor } from 'webgpu-backprop';

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
}

export function firstConvStages<T extends Tensor>(net: Sequential<T>): FirstConvStages<T> | undefined {
  const conv = net.layers.findIndex((l) => l instanceof Convolution);
  if (conv < 0) return undefined;
  const relu = net.layers[conv + 1];
  const pool = net.layers.slice(conv + 1).find((l): l is Pooling<T> => l instanceof Pooling);
  if (!(relu instanceof Relu) || !pool) return undefined;
  return { conv: net.layers[conv] as Convolution<T>, relu, pool };
}

/** Whether this net has convolutions (their activations are large: the page evaluates it in smaller chunks). */
export function isConvolutional(net: Sequential<Tensor>): boolean {
  return net.layers.some((l) => l instanceof Convolution);
}
