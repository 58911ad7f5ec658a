import type { Backend } from '../backend/backend.js';
import { BATCHNORM_DEFAULTS, type BatchNormHyper, type RunningStats } from '../kernels/batchnorm.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Param } from './layers.js';

/**
 * The book's BatchNormalization (ch. 6) after an Affine layer: normalizes each unit over the
 * batch, then scales by gamma and shifts by beta (both learned). Training also moves the running
 * mean and variance that inference normalizes with; they start at 0, as the book's do.
 * Keeps xn and 1/std for backward.
 */
export class BatchNorm<T extends Tensor> {
  readonly gamma: Param<T>;
  readonly beta: Param<T>;
  readonly running: RunningStats<T>;
  private y: T | undefined;
  private xn: T | undefined;
  private invStd: T | undefined;
  private dx: T | undefined;

  constructor(
    private readonly backend: Backend<T>,
    units: number,
    names: [string, string] = ['gamma', 'beta'],
    readonly hyper: BatchNormHyper = BATCHNORM_DEFAULTS,
  ) {
    this.gamma = { name: names[0], value: backend.fromArray(new Float64Array(units).fill(1), [units]), grad: undefined };
    this.beta = { name: names[1], value: backend.zeros([units]), grad: undefined };
    this.running = { mean: backend.zeros([units]), variance: backend.zeros([units]) };
  }

  forward(x: T, train: boolean): T {
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

  dispose(): void {
    const { backend: be, running } = this;
    be.dispose(this.y, this.xn, this.invStd, this.dx, this.gamma.grad, this.beta.grad, this.gamma.value, this.beta.value, running.mean, running.variance);
  }
}
