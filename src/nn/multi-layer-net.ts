import type { Backend } from '../backend/backend.js';
import { Rng } from '../data/rng.js';
import type { Tensor } from '../tensor/tensor.js';
import { BatchNorm } from './batch-norm.js';
import { Dropout } from './dropout.js';
import { gaussian, initStd, type WeightInit } from './init.js';
import type { Layer } from './layer.js';
import { Affine, Relu, Sigmoid, SoftmaxWithLoss } from './layers.js';
import { Sequential } from './sequential.js';

export type { ForwardMode, NamedTensor } from './layer.js';

/** The hidden layers' activation. */
export type ActivationName = 'relu' | 'sigmoid';

/** A MultiLayerNet: the book's MultiLayerNetExtend arguments. */
export interface NetConfig {
  inputSize: number;
  /**
   * The image shape [rows, cols] of the input's features, when they are the pixels of one: the
   * first layer tells the backend, which may order its sparse kernels' work by it. Used only when
   * rows·cols equals inputSize.
   */
  inputImage?: readonly [number, number];
  hiddenSizes: readonly number[];
  outputSize: number;
  activation: ActivationName;
  weightInit: WeightInit;
  /** The std used by weightInit 'std'. */
  weightInitStd: number;
  /** λ of the L2 weight decay: the loss gains 0.5·λ·Σ‖W‖² over the weights (not the biases), each dW gains λ·W. */
  weightDecay: number;
  /** A BatchNorm layer between each hidden Affine and its activation (the book's use_batchnorm). */
  batchNorm: boolean;
  /** A Dropout layer of this ratio after each hidden activation; 0 for none (the book's use_dropout). */
  dropoutRatio: number;
  seed: number;
}

/** The book's TwoLayerNet on MNIST: 784-50-10, ReLU, weights N(0, 0.01²), seed 42. */
export const DEFAULT_NET: NetConfig = {
  inputSize: 784,
  inputImage: [28, 28],
  hiddenSizes: [50],
  outputSize: 10,
  activation: 'relu',
  weightInit: 'std',
  weightInitStd: 0.01,
  weightDecay: 0,
  batchNorm: false,
  dropoutRatio: 0,
  seed: 42,
};

/** Refuses a config no net can be built from, naming the value. */
export function checkNetConfig(c: NetConfig): void {
  const sizes = layerSizes(c);
  if (c.hiddenSizes.length === 0) throw new RangeError('network: at least one hidden layer is needed');
  for (const s of sizes) {
    if (!Number.isSafeInteger(s) || s < 1) throw new RangeError(`network: layer sizes must be integers >= 1, got ${sizes.join('-')}`);
  }
  if (c.inputImage && !c.inputImage.every((s) => Number.isSafeInteger(s) && s >= 1)) {
    throw new RangeError(`network: the input image shape must be two integers >= 1, got ${c.inputImage.join('x')}`);
  }
  if (!Number.isFinite(c.weightDecay) || c.weightDecay < 0) throw new RangeError(`network: weight decay must be a finite number >= 0, got ${c.weightDecay}`);
  if (!(c.dropoutRatio >= 0 && c.dropoutRatio < 1)) throw new RangeError(`network: dropout ratio must be in [0, 1), got ${c.dropoutRatio}`);
}

/**
 * Affine → [BatchNorm] → activation → [Dropout] → … → Affine → SoftmaxWithLoss, any depth (the
 * book's MultiLayerNet and MultiLayerNetExtend): a Sequential built from a config. Layers and
 * parameters are named as in the book: Affine1 (W1, b1), BatchNorm1 (gamma1, beta1), Relu1,
 * Dropout1, Affine2, …
 */
export class MultiLayerNet<T extends Tensor> extends Sequential<T> {
  readonly config: NetConfig;

  constructor(backend: Backend<T>, config: Partial<NetConfig> = {}) {
    const full = { ...DEFAULT_NET, ...config };
    checkNetConfig(full);
    super(backend, buildLayers(backend, full), new SoftmaxWithLoss(backend), { weightDecay: full.weightDecay, outputSize: full.outputSize });
    this.config = full;
  }

  layerSizes(): number[] {
    return layerSizes(this.config);
  }
}

function layerSizes(c: NetConfig): number[] {
  return [c.inputSize, ...c.hiddenSizes, c.outputSize];
}

/** The ordered list, each Affine's weights drawn in turn from one Rng of the config's seed. */
function buildLayers<T extends Tensor>(backend: Backend<T>, c: NetConfig): Layer<T>[] {
  const rng = new Rng(c.seed);
  const sizes = layerSizes(c);
  const layers: Layer<T>[] = [];
  for (let i = 0; i < sizes.length - 1; i++) {
    const [fanIn, fanOut] = [sizes[i]!, sizes[i + 1]!];
    const n = i + 1;
    const W = backend.fromArray(gaussian(rng, fanIn * fanOut, initStd(c.weightInit, fanIn, c.weightInitStd)), [fanIn, fanOut]);
    // The first layer's input is the data batch.
    const data = i === 0 ? { image: c.inputImage } : undefined;
    layers.push(new Affine(backend, W, backend.zeros([fanOut]), { name: `Affine${n}`, paramNames: [`W${n}`, `b${n}`], data }));
    if (i === sizes.length - 2) break;
    if (c.batchNorm) {
      layers.push(new BatchNorm(backend, fanOut, { name: `BatchNorm${n}`, paramNames: [`gamma${n}`, `beta${n}`], stateNames: [`running_mean${n}`, `running_var${n}`] }));
    }
    layers.push(c.activation === 'relu' ? new Relu(backend, `Relu${n}`) : new Sigmoid(backend, `Sigmoid${n}`));
    if (c.dropoutRatio > 0) layers.push(new Dropout(backend, c.dropoutRatio, { name: `Dropout${n}`, seed: c.seed, layerIndex: i }));
  }
  return layers;
}

/**
 * The book's TwoLayerNet(input_size, hidden_size, output_size, weight_init_std=0.01):
 * Affine → Relu → Affine → SoftmaxWithLoss with params W1, b1, W2, b2.
 */
export class TwoLayerNet<T extends Tensor> extends MultiLayerNet<T> {
  constructor(backend: Backend<T>, inputSize: number, hiddenSize: number, outputSize: number, weightInitStd = 0.01, seed = DEFAULT_NET.seed) {
    super(backend, { inputSize, hiddenSizes: [hiddenSize], outputSize, activation: 'relu', weightInit: 'std', weightInitStd, seed });
  }
}
