import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * The book's Dropout (ch. 6): in training each unit is dropped with probability `ratio` and
 * the mask is kept for backward; at inference all units pass, scaled by (1 - ratio). The mask
 * is a pure function of `seed`, which the net derives from its own seed, the layer and the
 * training step: the same on CPU and GPU, and the same again when a run is resumed.
 */
export class Dropout<T extends Tensor> {
  private y: T | undefined;
  private mask: T | undefined;
  private dx: T | undefined;

  constructor(
    private readonly backend: Backend<T>,
    readonly ratio: number,
  ) {
    if (!(ratio >= 0 && ratio < 1)) throw new RangeError(`Dropout: ratio must be in [0, 1), got ${ratio}`);
  }

  /** `seed` picks the training mask; inference ignores it. */
  forward(x: T, train: boolean, seed: number): T {
    this.backend.dispose(this.y, this.mask);
    this.mask = undefined;
    if (train) ({ y: this.y, mask: this.mask } = this.backend.dropoutForward(x, this.ratio, seed));
    else this.y = this.backend.dropoutInference(x, this.ratio);
    return this.y;
  }

  backward(dout: T): T {
    if (!this.mask) throw new Error('Dropout: backward needs a training forward first');
    this.backend.dispose(this.dx);
    this.dx = this.backend.dropoutBackward(dout, this.mask);
    return this.dx;
  }

  /** The mask of the last training forward (1 kept, 0 dropped). */
  get lastMask(): T | undefined {
    return this.mask;
  }

  dispose(): void {
    this.backend.dispose(this.y, this.mask, this.dx);
  }
}
