import type { Backend } from '../backend/backend.js';
import { Rng } from '../data/rng.js';
import { CpuTensor } from '../tensor/cpu-tensor.js';
import type { Tensor } from '../tensor/tensor.js';
import { numericalGradient } from '../train/numerical-gradient.js';
import { dropoutSeed } from '../kernels/dropout.js';
import { BatchNorm } from './batch-norm.js';
import { Dropout } from './dropout.js';
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
  /** A BatchNorm layer between each hidden Affine and its activation (the book's use_batchnorm). */
  batchNorm: boolean;
  /** A Dropout layer of this ratio after each hidden activation; 0 for none (the book's use_dropout). */
  dropoutRatio: number;
  seed: number;
}

/** How a forward pass runs: training (batch statistics, dropout masks drawn for `step`) or inference. */
export interface ForwardMode {
  train: boolean;
  /** The training step, which picks the dropout masks (a resumed run redraws the same ones). */
  step?: number;
}

/** A tensor a saved model holds: a parameter, or state such as BatchNorm's running statistics. */
export interface NamedTensor<T extends Tensor> {
  name: string;
  value: T;
}

export const DEFAULT_NET: NetConfig = {
  inputSize: 784,
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

export function checkNetConfig(c: NetConfig): void {
  const sizes = [c.inputSize, ...c.hiddenSizes, c.outputSize];
  if (c.hiddenSizes.length === 0) throw new RangeError('network: at least one hidden layer is needed');
  for (const s of sizes) {
    if (!Number.isSafeInteger(s) || s < 1) throw new RangeError(`network: layer sizes must be integers >= 1, got ${sizes.join('-')}`);
  }
  if (!Number.isFinite(c.weightDecay) || c.weightDecay < 0) throw new RangeError(`network: weight decay must be a finite number >= 0, got ${c.weightDecay}`);
  if (!(c.dropoutRatio >= 0 && c.dropoutRatio < 1)) throw new RangeError(`network: dropout ratio must be in [0, 1), got ${c.dropoutRatio}`);
}

/**
 * Affine → [BatchNorm] → activation → [Dropout] → … → Affine → SoftmaxWithLoss, any depth (the
 * book's MultiLayerNet and MultiLayerNetExtend). Parameters are named W1, b1, gamma1, beta1,
 * W2, … as in the book.
 */
export class MultiLayerNet<T extends Tensor> {
  readonly config: NetConfig;
  readonly affines: Affine<T>[] = [];
  /** One per hidden layer when `config.batchNorm`, else none. */
  readonly batchNorms: BatchNorm<T>[] = [];
  readonly activations: ActivationLayer<T>[] = [];
  /** One per hidden layer when `config.dropoutRatio` > 0, else none. */
  readonly dropouts: Dropout<T>[] = [];
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
        if (this.config.batchNorm) this.batchNorms.push(new BatchNorm(backend, fanOut, [`gamma${i + 1}`, `beta${i + 1}`]));
        this.activations.push(this.config.activation === 'relu' ? new Relu(backend) : new Sigmoid(backend));
        if (this.config.dropoutRatio > 0) this.dropouts.push(new Dropout(backend, this.config.dropoutRatio));
      }
    }
    this.lastLayer = new SoftmaxWithLoss(backend);
  }

  layerSizes(): number[] {
    return [this.config.inputSize, ...this.config.hiddenSizes, this.config.outputSize];
  }

  /** The trainable parameters, in the book's order: W1, b1, gamma1, beta1, W2, … */
  params(): Param<T>[] {
    return this.affines.flatMap((a, i) => {
      const bn = this.batchNorms[i];
      return bn ? [a.W, a.b, bn.gamma, bn.beta] : [a.W, a.b];
    });
  }

  /**
   * Everything a saved model or checkpoint holds: the parameters, then BatchNorm's running
   * statistics (not trained by gradients, but inference needs them).
   */
  tensors(): NamedTensor<T>[] {
    const running = this.batchNorms.flatMap((bn, i) => [
      { name: `running_mean${i + 1}`, value: bn.running.mean },
      { name: `running_var${i + 1}`, value: bn.running.variance },
    ]);
    return [...this.params().map(({ name, value }) => ({ name, value })), ...running];
  }

  /**
   * Scores (logits) for a batch x: [batch, inputSize] → [batch, outputSize]. Inference unless
   * `mode.train` (the book's train_flg): BatchNorm then uses the batch's statistics and moves
   * its running ones, Dropout drops units.
   */
  predict(x: T, mode: ForwardMode = { train: false }): T {
    let h = x;
    this.affines.forEach((affine, i) => {
      h = affine.forward(h);
      const act = this.activations[i];
      if (!act) return;
      const bn = this.batchNorms[i];
      if (bn) h = bn.forward(h, mode.train);
      h = act.forward(h);
      const dropout = this.dropouts[i];
      if (dropout) h = dropout.forward(h, mode.train, dropoutSeed(this.config.seed, i, mode.step ?? 0));
    });
    return h;
  }

  /**
   * Batch-mean cross-entropy (plus the weight-decay term when λ > 0), a tensor of shape [].
   * A training forward by default, as the gradient needs.
   */
  loss(x: T, t: T, mode: ForwardMode = { train: true }): T {
    const loss = this.lastLayer.forward(this.predict(x, mode), t);
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

  /**
   * Forward (training mode, dropout masks of `step`) and backward; the gradients stay in each
   * Param's `grad`. Returns the loss.
   */
  gradient(x: T, t: T, step = 0): T {
    const loss = this.loss(x, t, { train: true, step });
    let d: T | undefined = this.lastLayer.backward();
    for (let i = this.affines.length - 1; i >= 0; i--) {
      d = this.affines[i]!.backward(d!);
      if (i === 0) break;
      const dropout = this.dropouts[i - 1];
      if (dropout) d = dropout.backward(d!);
      d = this.activations[i - 1]!.backward(d!);
      const bn = this.batchNorms[i - 1];
      if (bn) d = bn.backward(d!);
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
  numericalGradient(x: T, t: T, h = 1e-4, step = 0): Map<string, Float64Array> {
    if (this.backend.device !== 'cpu') throw new Error('numericalGradient runs on the CPU backend (use a CpuBackend net)');
    // Training mode with the dropout masks of `step`, as `gradient(x, t, step)` differentiates.
    const lossValue = () => (this.loss(x, t, { train: true, step }) as unknown as CpuTensor).data[0]!;
    const grads = new Map<string, Float64Array>();
    for (const p of this.params()) {
      const data = (p.value as unknown as CpuTensor).data;
      if (data instanceof Uint32Array) throw new TypeError(`${p.name} is not a float tensor`);
      grads.set(p.name, numericalGradient(lossValue, data, h));
    }
    return grads;
  }

  /** Copies another net's parameters and running statistics (same architecture) into this one. */
  async copyParamsFrom<U extends Tensor>(other: MultiLayerNet<U>): Promise<void> {
    const mine = this.tensors();
    const theirs = other.tensors();
    for (let i = 0; i < mine.length; i++) {
      this.backend.write(mine[i]!.value, await other.backend.read(theirs[i]!.value));
    }
  }

  dispose(): void {
    for (const layer of [...this.affines, ...this.batchNorms, ...this.activations, ...this.dropouts, this.lastLayer]) layer.dispose();
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
