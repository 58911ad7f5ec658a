import type { Backend } from '../backend/backend.js';
import { Rng } from '../data/rng.js';
import { CpuTensor } from '../tensor/cpu-tensor.js';
import type { Tensor } from '../tensor/tensor.js';
import { numericalGradient } from '../train/numerical-gradient.js';
import { gaussian, initStd, type WeightInit } from './init.js';
import { Affine, Relu, Sigmoid, SoftmaxWithLoss, type ActivationLayer, type Param } from './layers.js';

export type ActivationName = 'relu' | 'sigmoid';

export interface NetConfig {
  inputSize: number;
  hiddenSizes: readonly number[];
  outputSize: number;
  activation: ActivationName;
  weightInit: WeightInit;
  /** The std used by weightInit 'std'. */
  weightInitStd: number;
  /** λ of the L2 weight decay: the loss gains 0.5·λ·Σ‖W‖² over the weights (not the biases), each dW gains λ·W. */
  weightDecay: number;
  seed: number;
}

export const DEFAULT_NET: NetConfig = {
  inputSize: 784,
  hiddenSizes: [50],
  outputSize: 10,
  activation: 'relu',
  weightInit: 'std',
  weightInitStd: 0.01,
  weightDecay: 0,
  seed: 42,
};

export function checkNetConfig(c: NetConfig): void {
  const sizes = [c.inputSize, ...c.hiddenSizes, c.outputSize];
  if (c.hiddenSizes.length === 0) throw new RangeError('network: at least one hidden layer is needed');
  for (const s of sizes) {
    if (!Number.isSafeInteger(s) || s < 1) throw new RangeError(`network: layer sizes must be integers >= 1, got ${sizes.join('-')}`);
  }
  if (!Number.isFinite(c.weightDecay) || c.weightDecay < 0) throw new RangeError(`network: weight decay must be a finite number >= 0, got ${c.weightDecay}`);
}

/**
 * Affine → activation → … → Affine → SoftmaxWithLoss, any depth (the book's MultiLayerNet).
 * Parameters are named W1, b1, W2, b2, … as in the book.
 */
export class MultiLayerNet<T extends Tensor> {
  readonly config: NetConfig;
  readonly affines: Affine<T>[] = [];
  readonly activations: ActivationLayer<T>[] = [];
  readonly lastLayer: SoftmaxWithLoss<T>;

  constructor(
    readonly backend: Backend<T>,
    config: Partial<NetConfig> = {},
  ) {
    this.config = { ...DEFAULT_NET, ...config };
    checkNetConfig(this.config);
    const rng = new Rng(this.config.seed);
    const sizes = this.layerSizes();
    for (let i = 0; i < sizes.length - 1; i++) {
      const [fanIn, fanOut] = [sizes[i]!, sizes[i + 1]!];
      const std = initStd(this.config.weightInit, fanIn, this.config.weightInitStd);
      const W = backend.fromArray(gaussian(rng, fanIn * fanOut, std), [fanIn, fanOut]);
      const b = backend.zeros([fanOut]);
      this.affines.push(new Affine(backend, W, b, [`W${i + 1}`, `b${i + 1}`], i > 0));
      if (i < sizes.length - 2) {
        this.activations.push(this.config.activation === 'relu' ? new Relu(backend) : new Sigmoid(backend));
      }
    }
    this.lastLayer = new SoftmaxWithLoss(backend);
  }

  layerSizes(): number[] {
    return [this.config.inputSize, ...this.config.hiddenSizes, this.config.outputSize];
  }

  params(): Param<T>[] {
    return this.affines.flatMap((a) => [a.W, a.b]);
  }

  /** Scores (logits) for a batch x: [batch, inputSize] → [batch, outputSize]. */
  predict(x: T): T {
    let h = x;
    this.affines.forEach((affine, i) => {
      h = affine.forward(h);
      const act = this.activations[i];
      if (act) h = act.forward(h);
    });
    return h;
  }

  /** Batch-mean cross-entropy (plus the weight-decay term when λ > 0), a tensor of shape []. */
  loss(x: T, t: T): T {
    const loss = this.lastLayer.forward(this.predict(x), t);
    const lambda = this.config.weightDecay;
    if (lambda > 0) {
      for (const affine of this.affines) {
        const squares = this.backend.sumSquares(affine.W.value);
        this.backend.addScaled(loss, squares, 0.5 * lambda);
        this.backend.dispose(squares);
      }
    }
    return loss;
  }

  /** Forward and backward; the gradients stay in each Param's `grad`. Returns the loss. */
  gradient(x: T, t: T): T {
    const loss = this.loss(x, t);
    let d: T | undefined = this.lastLayer.backward();
    for (let i = this.affines.length - 1; i >= 0; i--) {
      d = this.affines[i]!.backward(d!);
      if (i > 0) d = this.activations[i - 1]!.backward(d!);
    }
    const lambda = this.config.weightDecay;
    if (lambda > 0) for (const { W } of this.affines) this.backend.addScaled(W.grad!, W.value, lambda);
    return loss;
  }

  /** Fraction of rows whose highest score is the label. */
  async accuracy(x: T, t: T): Promise<number> {
    const count = this.backend.countCorrect(this.predict(x), t);
    const [correct] = await this.backend.read(count);
    this.backend.dispose(count);
    return x.shape[0] === 0 ? 0 : correct! / x.shape[0]!;
  }

  /**
   * Central-difference gradient of every parameter (CPU backend only: every probe is a full
   * forward pass read synchronously).
   */
  numericalGradient(x: T, t: T, h = 1e-4): Map<string, Float64Array> {
    if (this.backend.device !== 'cpu') throw new Error('numericalGradient runs on the CPU backend (use a CpuBackend net)');
    const lossValue = () => (this.loss(x, t) as unknown as CpuTensor).data[0]!;
    const grads = new Map<string, Float64Array>();
    for (const p of this.params()) {
      const data = (p.value as unknown as CpuTensor).data;
      if (data instanceof Uint32Array) throw new TypeError(`${p.name} is not a float tensor`);
      grads.set(p.name, numericalGradient(lossValue, data, h));
    }
    return grads;
  }

  /** Copies another net's parameter values (same architecture) into this one. */
  async copyParamsFrom<U extends Tensor>(other: MultiLayerNet<U>): Promise<void> {
    const mine = this.params();
    const theirs = other.params();
    for (let i = 0; i < mine.length; i++) {
      this.backend.write(mine[i]!.value, await other.backend.read(theirs[i]!.value));
    }
  }

  dispose(): void {
    for (const layer of [...this.affines, ...this.activations, this.lastLayer]) layer.dispose();
  }
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
