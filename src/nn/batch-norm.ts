import type { Backend } from '../backend/backend.js';
import type { BatchNormHyper, RunningStats } from '../backend/ops.js';
import { BATCHNORM_DEFAULTS } from '../kernels/batchnorm.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ForwardMode, Layer, LayerNeeds, NamedTensor, Param } from './layer.js';

/** How a BatchNorm layer is named and tuned. */
export interface BatchNormOptions {
  /** Its key in the net's list (default 'BatchNorm'). */
  name?: string;
  /** The names of gamma and beta (default ['gamma', 'beta']). */
  paramNames?: [string, string];
  /** The names of the running mean and variance in a model file (default ['running_mean', 'running_var']). */
  stateNames?: [string, string];
  hyper?: BatchNormHyper;
}

/**
 * The book's BatchNormalization (ch. 6) after an Affine layer: normalizes each unit over the
 * batch, then scales by gamma and shifts by beta (both learned). Training also moves the running
 * mean and variance that inference normalizes with; they start at 0, as the book's do.
 * Keeps xn and 1/std for backward.
 */
export class BatchNorm<T extends Tensor> implements Layer<T> {
  readonly name: string;
  readonly gamma: Param<T>;
  readonly beta: Param<T>;
  readonly running: RunningStats<T>;
  readonly hyper: BatchNormHyper;
  private readonly stateNames: [string, string];
  private y: T | undefined;
  private xn: T | undefined;
  private invStd: T | undefined;
  private dx: T | undefined;

  constructor(
    private readonly backend: Backend<T>,
    units: number,
    { name = 'BatchNorm', paramNames = ['gamma', 'beta'], stateNames = ['running_mean', 'running_var'], hyper = BATCHNORM_DEFAULTS }: BatchNormOptions = {},
  ) {
    this.name = name;
    this.hyper = hyper;
    this.stateNames = stateNames;
    this.gamma = { name: paramNames[0], value: backend.fromArray(new Float64Array(units).fill(1), [units]), grad: undefined };
    this.beta = { name: paramNames[1], value: backend.zeros([units]), grad: undefined };
    this.running = { mean: backend.zeros([units]), variance: backend.zeros([units]) };
  }

  forward(x: T, { train }: ForwardMode): T {
    const be = this.backend;
    be.dispose(this.y, this.xn, this.invStd);
    this.xn = this.invStd = undefined;
    if (train) ({ y: this.y, xn: this.xn, invStd: this.invStd } = be.batchNormTrain(x, this.gamma.value, this.beta.value, this.running, this.hyper));
    else this.y = be.batchNormInference(x, this.gamma.value, this.beta.value, this.running, this.hyper);
    return this.y;
  }

  backward(dout: T): T {
    if (!this.xn || !this.invStd) throw new Error(`BatchNorm ${this.gamma.name}: backward needs a training forward first`);
    const be = this.backend;
    be.dispose(this.dx, this.gamma.grad, this.beta.grad);
    const { dx, dgamma, dbeta } = be.batchNormBackward(dout, this.xn, this.invStd, this.gamma.value);
    this.dx = dx;
    this.gamma.grad = dgamma;
    this.beta.grad = dbeta;
    return dx;
  }

  params(): Param<T>[] {
    return [this.gamma, this.beta];
  }

  state(): NamedTensor<T>[] {
    const [mean, variance] = this.stateNames;
    return [
      { name: mean, value: this.running.mean },
      { name: variance, value: this.running.variance },
    ];
  }

  kernels(): LayerNeeds {
    return { batchNorm: true };
  }

  dispose(): void {
    const { backend: be, running } = this;
    be.dispose(this.y, this.xn, this.invStd, this.dx, this.gamma.grad, this.beta.grad, this.gamma.value, this.beta.value, running.mean, running.variance);
  }
}
