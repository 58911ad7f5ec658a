import type { Dataset, Tensor } from 'webgpu-backprop';

/**
 * The first `count` rows of a dataset, without a copy: the page evaluates accuracy on a subset
 * when the URL asks for it (a software adapter evaluates 70,000 images slowly).
 */
export class FirstRows<T extends Tensor> implements Dataset<T> {
  readonly sampleShape: readonly number[];
  readonly features: number;

  constructor(
    private readonly all: Dataset<T>,
    readonly count: number,
  ) {
    if (count > all.count) throw new RangeError(`FirstRows: ${count} rows of a dataset of ${all.count}`);
    this.sampleShape = all.sampleShape;
    this.features = all.features;
  }

  batch(indices: Uint32Array): { x: T; t: T } {
    for (const i of indices) if (i >= this.count) throw new RangeError(`batch: row ${i} is outside the first ${this.count}`);
    return this.all.batch(indices);
  }

  range(start: number, count: number): { x: T; t: T } {
    if (start < 0 || start + count > this.count) throw new RangeError(`range: rows ${start}..${start + count} are outside the first ${this.count}`);
    return this.all.range(start, count);
  }

  /** The rows belong to the full dataset, which its owner disposes. */
  dispose(): void {}
}
