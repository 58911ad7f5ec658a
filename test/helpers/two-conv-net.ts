import type { Backend } from '../../src/backend/backend.js';
import type { ConvArgs, PoolArgs } from '../../src/backend/ops.js';
import { Rng } from '../../src/data/rng.js';
import { Convolution, Pooling } from '../../src/nn/conv-layers.js';
import { fuseConvReluPool } from '../../src/nn/conv-relu-pool.js';
import { gaussian } from '../../src/nn/init.js';
import type { Layer } from '../../src/nn/layer.js';
import { Affine, Relu, SoftmaxWithLoss } from '../../src/nn/layers.js';
import { Sequential } from '../../src/nn/sequential.js';
import type { Tensor } from '../../src/tensor/tensor.js';

/** What twoConvNet varies: the pooling, the second convolution's stride and pad, and whether Conv2 → Relu2 → Pool1 is fused. */
export interface TwoConvNetOptions {
  pool?: PoolArgs;
  conv2?: ConvArgs;
  fused?: boolean;
}

/**
 * conv (data) → relu → conv → relu → pool → affine on 3x7x6 images, built as the book's list: a
 * net whose second conv needs the data gradient (col2im), with a non-square filter.
 */
export function twoConvNet<T extends Tensor>(
  be: Backend<T>,
  { pool = { poolH: 2, poolW: 2, stride: 2 }, conv2 = { stride: 2, pad: 2 }, fused = false }: TwoConvNetOptions = {},
): Sequential<T> {
  const rng = new Rng(5);
  const param = (shape: number[], std: number) => be.fromArray(gaussian(rng, shape.reduce((a, b) => a * b, 1), std), shape);
  const layers: Layer<T>[] = [
    new Convolution(be, param([4, 3, 3, 3], 0.4), param([4], 0.1), { name: 'Conv1', paramNames: ['W1', 'b1'], pad: 1, data: true }),
    new Relu(be, 'Relu1'),
    new Convolution(be, param([5, 4, 3, 2], 0.4), param([5], 0.1), { name: 'Conv2', paramNames: ['W2', 'b2'], ...conv2 }),
    new Relu(be, 'Relu2'),
    new Pooling(be, { name: 'Pool1', ...pool }),
  ];
  let h: T = be.zeros([1, 3, 7, 6]);
  for (const l of layers) h = l.forward(h, { train: false });
  layers.push(new Affine(be, param([h.size, 10], 0.1), param([10], 0.1), { name: 'Affine1', paramNames: ['W3', 'b3'] }));
  return new Sequential(be, fused ? fuseConvReluPool(be, layers) : layers, new SoftmaxWithLoss(be), { inputShape: [3, 7, 6] });
}
