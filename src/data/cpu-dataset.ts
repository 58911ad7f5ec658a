import type { CpuBackend } from '../backend/cpu-backend.js';
import { gatherCpu } from '../kernels/gather.js';
import { CpuTensor } from '../tensor/cpu-tensor.js';
import type { Dataset } from './dataset.js';
import type { MnistSplit } from './mnist.js';

/** MNIST bytes in memory, normalized batch by batch (as the GPU gather kernel does). */
export class CpuDataset implements Dataset<CpuTensor> {
  readonly count: number;
  readonly sampleShape: readonly number[];
  readonly features: number;

  constructor(
    private readonly backend: CpuBackend,
    private readonly split: MnistSplit,
  ) {
    this.count = split.count;
    this.sampleShape = [split.rows, split.cols];
    this.features = split.rows * split.cols;
  }

  batch(indices: ArrayLike<number>): { x: CpuTensor; t: CpuTensor } {
    const x = this.backend.zeros([indices.length, this.features]);
    const t = new CpuTensor([indices.length], new Uint32Array(indices.length));
    gatherCpu(this.split.pixels, this.split.labels, this.features, indices, x.data as Float32Array, t.data as Uint32Array);
    return { x, t };
  }

  range(start: number, count: number): { x: CpuTensor; t: CpuTensor } {
    return this.batch(Array.from({ length: count }, (_, i) => start + i));
  }

  dispose(): void {}
}
