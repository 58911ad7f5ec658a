/**
 * The book's convnets as builders of a layer list: SimpleConvNet (ch. 7,
 * ch07/simple_convnet.py) and DeepConvNet (ch. 8, ch08/deep_convnet.py). Both take NCHW images;
 * fed a dataset's flat rows, the net views them as [batch, ...inputDim].
 */
import type { Backend } from '../backend/backend.js';
import { Rng } from '../data/rng.js';
import type { Tensor } from '../tensor/tensor.js';
import { Convolution, Pooling } from './conv-layers.js';
import { ConvReluPool, fuseConvReluPool } from './conv-relu-pool.js';
import { Dropout } from './dropout.js';
import { gaussian } from './init.js';
import type { Layer } from './layer.js';
import { Affine, Relu, SoftmaxWithLoss } from './layers.js';
import { Sequential } from './sequential.js';

/** One sample's shape [channels, height, width]: [1, 28, 28] for MNIST. */
export type ImageShape = readonly [number, number, number];

/** SimpleConvNet's arguments, with the book's names and defaults. */
export interface SimpleConvNetConfig {
  inputDim: ImageShape;
  /** The book's conv_param: filter_num, filter_size, pad, stride. */
  filterNum: number;
  filterSize: number;
  pad: number;
  stride: number;
  hiddenSize: number;
  outputSize: number;
  weightInitStd: number;
  seed: number;
  /**
   * Run Conv1 → Relu1 → Pool1 as one ConvReluPool layer: the same values and gradients in fewer,
   * smaller passes. Default true; false keeps the book's three layers apart.
   */
  fused: boolean;
}

/** The book's defaults: 30 filters 5x5, stride 1, pad 0; hidden 100; weights N(0, 0.01²). */
export const SIMPLE_CONV_NET: SimpleConvNetConfig = {
  inputDim: [1, 28, 28],
  filterNum: 30,
  filterSize: 5,
  pad: 0,
  stride: 1,
  hiddenSize: 100,
  outputSize: 10,
  weightInitStd: 0.01,
  seed: 42,
  fused: true,
};

function checkSizes(what: string, values: Record<string, number>): void {
  for (const [name, v] of Object.entries(values)) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${what}: ${name} must be an integer >= 1, got ${v}`);
  }
}

/** Output side of a convolution or pooling, refusing a window that does not fit. */
function outSide(what: string, size: number, window: number, pad: number, stride: number): number {
  const room = size + 2 * pad - window;
  if (room < 0) throw new RangeError(`${what}: a window of ${window} with pad ${pad} does not fit an input side of ${size}`);
  return 1 + Math.floor(room / stride);
}

/**
 * conv - relu - pool - affine - relu - affine - softmax, as the book's SimpleConvNet: layers
 * Conv1, Relu1, Pool1 (2x2, stride 2), Affine1, Relu2, Affine2; params W1, b1 (the filters,
 * [filterNum, C, filterSize, filterSize]), W2, b2, W3, b3. Conv1 → Relu1 → Pool1 run as one
 * ConvReluPool layer unless `fused` is false; `bookLayers(net.layers)` lists the book's six.
 */
export class SimpleConvNet<T extends Tensor> extends Sequential<T> {
  readonly config: SimpleConvNetConfig;

  constructor(backend: Backend<T>, config: Partial<SimpleConvNetConfig> = {}) {
    const c = { ...SIMPLE_CONV_NET, ...config };
    const [channels, height, width] = c.inputDim;
    checkSizes('SimpleConvNet', { channels, height, width, filterNum: c.filterNum, filterSize: c.filterSize, stride: c.stride, hiddenSize: c.hiddenSize, outputSize: c.outputSize });
    if (!Number.isSafeInteger(c.pad) || c.pad < 0) throw new RangeError(`SimpleConvNet: pad must be an integer >= 0, got ${c.pad}`);
    const convH = outSide('SimpleConvNet', height, c.filterSize, c.pad, c.stride);
    const convW = outSide('SimpleConvNet', width, c.filterSize, c.pad, c.stride);
    // The book: pool_output_size = filter_num * (conv_output_size/2)²; floor as its 2x2 pooling does.
    const pooled = c.filterNum * Math.floor(convH / 2) * Math.floor(convW / 2);
    if (pooled === 0) throw new RangeError(`SimpleConvNet: a ${height}x${width} input leaves nothing after the 2x2 pooling`);

    const rng = new Rng(c.seed);
    const std = c.weightInitStd;
    const param = (shape: number[]) => backend.fromArray(gaussian(rng, shape.reduce((a, b) => a * b, 1), std), shape);
    const layers: Layer<T>[] = [
      new Convolution(backend, param([c.filterNum, channels, c.filterSize, c.filterSize]), backend.zeros([c.filterNum]), {
        name: 'Conv1',
        paramNames: ['W1', 'b1'],
        stride: c.stride,
        pad: c.pad,
        data: true,
      }),
      new Relu(backend, 'Relu1'),
      new Pooling(backend, { name: 'Pool1', poolH: 2, poolW: 2, stride: 2 }),
      new Affine(backend, param([pooled, c.hiddenSize]), backend.zeros([c.hiddenSize]), { name: 'Affine1', paramNames: ['W2', 'b2'] }),
      new Relu(backend, 'Relu2'),
      new Affine(backend, param([c.hiddenSize, c.outputSize]), backend.zeros([c.outputSize]), { name: 'Affine2', paramNames: ['W3', 'b3'] }),
    ];
    super(backend, c.fused ? fuseConvReluPool(backend, layers) : layers, new SoftmaxWithLoss(backend), { outputSize: c.outputSize, inputShape: c.inputDim });
    this.config = c;
  }

  /** The first layer's filters (the book's figure 7-24 draws them). */
  get filters(): Convolution<T> {
    const first = this.layers[0];
    return first instanceof ConvReluPool ? first.conv : (first as Convolution<T>);
  }
}

/** DeepConvNet's arguments. */
export interface DeepConvNetConfig {
  inputDim: ImageShape;
  hiddenSize: number;
  outputSize: number;
  /** The ratio of its two Dropout layers (the book: 0.5). */
  dropoutRatio: number;
  seed: number;
  /** Run each conv - relu - pool as one ConvReluPool layer (as SimpleConvNetConfig.fused); default true. */
  fused: boolean;
}

export const DEEP_CONV_NET: DeepConvNetConfig = { inputDim: [1, 28, 28], hiddenSize: 50, outputSize: 10, dropoutRatio: 0.5, seed: 42, fused: true };

/** The book's conv_param_1 … conv_param_6: 3x3 filters, stride 1, these channels and pads. */
const DEEP_CONVS = [
  { filters: 16, pad: 1 },
  { filters: 16, pad: 1 },
  { filters: 32, pad: 1 },
  { filters: 32, pad: 2 },
  { filters: 64, pad: 1 },
  { filters: 64, pad: 1 },
] as const;

/**
 * The book's DeepConvNet (ch. 8): conv - relu - conv - relu - pool, three times, then
 * affine - relu - dropout - affine - dropout - softmax, He initialization. Layers Conv1 … Conv6,
 * Relu1 … Relu7, Pool1 … Pool3, Affine1, Dropout1, Affine2, Dropout2; params W1 … W8, b1 … b8.
 * Each Conv → Relu → Pool (Conv2, Conv4, Conv6 with their ReLU and pooling) runs as one
 * ConvReluPool layer unless `fused` is false.
 */
export class DeepConvNet<T extends Tensor> extends Sequential<T> {
  readonly config: DeepConvNetConfig;

  constructor(backend: Backend<T>, config: Partial<DeepConvNetConfig> = {}) {
    const c = { ...DEEP_CONV_NET, ...config };
    let [channels, height, width] = c.inputDim;
    checkSizes('DeepConvNet', { channels, height, width, hiddenSize: c.hiddenSize, outputSize: c.outputSize });
    if (!(c.dropoutRatio >= 0 && c.dropoutRatio < 1)) throw new RangeError(`DeepConvNet: dropout ratio must be in [0, 1), got ${c.dropoutRatio}`);
    const rng = new Rng(c.seed);
    // He: sqrt(2 / inputs per unit), the book's pre_node_nums.
    const he = (shape: number[], fanIn: number) => backend.fromArray(gaussian(rng, shape.reduce((a, b) => a * b, 1), Math.sqrt(2 / fanIn)), shape);
    const layers: Layer<T>[] = [];
    DEEP_CONVS.forEach(({ filters, pad }, i) => {
      const n = i + 1;
      layers.push(
        new Convolution(backend, he([filters, channels, 3, 3], channels * 9), backend.zeros([filters]), { name: `Conv${n}`, paramNames: [`W${n}`, `b${n}`], pad, data: i === 0 }),
        new Relu(backend, `Relu${n}`),
      );
      channels = filters;
      height = outSide('DeepConvNet', height, 3, pad, 1);
      width = outSide('DeepConvNet', width, 3, pad, 1);
      if (n % 2 === 0) {
        layers.push(new Pooling(backend, { name: `Pool${n / 2}`, poolH: 2, poolW: 2, stride: 2 }));
        height = outSide('DeepConvNet', height, 2, 0, 2);
        width = outSide('DeepConvNet', width, 2, 0, 2);
      }
    });
    const flat = channels * height * width;
    layers.push(
      new Affine(backend, he([flat, c.hiddenSize], flat), backend.zeros([c.hiddenSize]), { name: 'Affine1', paramNames: ['W7', 'b7'] }),
      new Relu(backend, 'Relu7'),
      new Dropout(backend, c.dropoutRatio, { name: 'Dropout1', seed: c.seed, layerIndex: 0 }),
      new Affine(backend, he([c.hiddenSize, c.outputSize], c.hiddenSize), backend.zeros([c.outputSize]), { name: 'Affine2', paramNames: ['W8', 'b8'] }),
      new Dropout(backend, c.dropoutRatio, { name: 'Dropout2', seed: c.seed, layerIndex: 1 }),
    );
    super(backend, c.fused ? fuseConvReluPool(backend, layers) : layers, new SoftmaxWithLoss(backend), { outputSize: c.outputSize, inputShape: c.inputDim });
    this.config = c;
  }
}
