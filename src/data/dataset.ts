import type { Tensor } from '../tensor/tensor.js';

/** A labelled image set that hands out batches as tensors of one backend. */
export interface Dataset<T extends Tensor> {
  readonly count: number;
  /** The shape of one sample, e.g. [28, 28] for MNIST. */
  readonly sampleShape: readonly number[];
  /** Values per sample: the product of sampleShape, the width of a batch's x. */
  readonly features: number;
  /** Rows `indices` of the set: x [n, features] in [0, 1], t class indices [n]. */
  batch(indices: Uint32Array): { x: T; t: T };
  /** Rows start .. start + count, for evaluation sweeps. */
  range(start: number, count: number): { x: T; t: T };
  dispose(): void;
}
