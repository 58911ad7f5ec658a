import type { Backend } from '../backend/backend.js';
import { dropoutSeed } from '../kernels/dropout.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ForwardMode, LayerNeeds } from './layer.js';
import { ParameterFreeLayer } from './layers.js';

/** How a Dropout layer is named and seeded. */
export interface DropoutOptions {
  /** Its key in the net's list (default 'Dropout'). */
  name?: string;
  /** The net's seed. */
  seed?: number;
  /** Which of the net's dropout layers this is (0-based), so that each draws its own masks. */
  layerIndex?: number;
}

/**
 * The book's Dropout (ch. 6): in training each unit is dropped with probability `ratio` and
 * the mask is kept for backward; at inference all units pass, scaled by (1 - ratio). The mask
 * is a pure function of the net's seed, the layer's index and the training step
 * (dropoutSeed): the same on CPU and GPU, and the same again when a run is resumed.
 */
export class Dropout<T extends Tensor> extends ParameterFreeLayer<T> {
  readonly name: string;
  readonly seed: number;
  readonly layerIndex: number;
  private y: T | undefined;
  private mask: T | undefined;
  private dx: T | undefined;

  constructor(
    private readonly backend: Backend<T>,
    readonly ratio: number,
    { name = 'Dropout', seed = 0, layerIndex = 0 }: DropoutOptions = {},
  ) {
    super();
    if (!(ratio >= 0 && ratio < 1)) throw new RangeError(`Dropout: ratio must be in [0, 1), got ${ratio}`);
    this.name = name;
    this.seed = seed;
    this.layerIndex = layerIndex;
  }

  forward(x: T, mode: ForwardMode): T {
    this.backend.dispose(this.y, this.mask);
    this.mask = undefined;
    if (mode.train) {
      const seed = dropoutSeed(this.seed, this.layerIndex, mode.step ?? 0);
      ({ y: this.y, mask: this.mask } = this.backend.dropoutForward(x, this.ratio, seed));
    } else {
      this.y = this.backend.dropoutInference(x, this.ratio);
    }
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

  override kernels(): LayerNeeds {
    return { dropout: true };
  }

  dispose(): void {
    this.backend.dispose(this.y, this.mask, this.dx);
  }
}
