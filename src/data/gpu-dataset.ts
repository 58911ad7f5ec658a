import type { GpuBackend } from '../backend/gpu-backend.js';
import { gatherGpu } from '../kernels/gather.js';
import { GpuTensor } from '../tensor/gpu-tensor.js';
import type { Dataset } from './dataset.js';
import type { MnistSplit } from './mnist.js';

/**
 * MNIST uploaded once and kept on the GPU as bytes (47 MB for the training set instead of 188 MB
 * of floats); each batch is gathered and normalized there, so a step uploads only its indices.
 */
export class GpuDataset implements Dataset<GpuTensor> {
  readonly count: number;
  readonly sampleShape: readonly number[];
  readonly features: number;
  private readonly pixels: GpuTensor;
  private readonly labels: GpuTensor;

  constructor(
    private readonly backend: GpuBackend,
    split: MnistSplit,
  ) {
    this.count = split.count;
    this.sampleShape = [split.rows, split.cols];
    this.features = split.rows * split.cols;
    const ctx = backend.ctx;
    // Four pixels to a word; a split whose byte count is not a multiple of 4 gets zero padding.
    const words = new Uint32Array(Math.ceil(split.pixels.length / 4));
    new Uint8Array(words.buffer).set(split.pixels);
    this.pixels = GpuTensor.empty(ctx, [words.length], 'u32');
    ctx.device.queue.writeBuffer(this.pixels.buffer, 0, words);
    this.labels = GpuTensor.from(ctx, split.labels, [split.count], 'u32');
  }

  /**
   * The resident pixels (bytes, four per u32 word) and labels, for kernels that gather their rows
   * themselves (the fused MLP step, src/train/mlp-step.ts). Owned by the dataset.
   */
  get resident(): { pixels: GpuTensor; labels: GpuTensor } {
    return { pixels: this.pixels, labels: this.labels };
  }

  batch(indices: Uint32Array): { x: GpuTensor; t: GpuTensor } {
    for (const i of indices) if (i >= this.count) throw new RangeError(`batch: row ${i} is outside a dataset of ${this.count}`);
    const idx = GpuTensor.from(this.backend.ctx, indices, [indices.length], 'u32');
    const out = this.gather({ indices: idx }, indices.length);
    idx.dispose();
    return out;
  }

  range(start: number, count: number): { x: GpuTensor; t: GpuTensor } {
    if (start < 0 || start + count > this.count) throw new RangeError(`range: rows ${start}..${start + count} are outside a dataset of ${this.count}`);
    return this.gather({ start }, count);
  }

  private gather(source: { indices: GpuTensor } | { start: number }, rows: number) {
    const ctx = this.backend.ctx;
    const x = GpuTensor.empty(ctx, [rows, this.features]);
    const t = GpuTensor.empty(ctx, [rows], 'u32');
    gatherGpu(ctx, this.pixels, this.labels, source, x, t);
    return { x, t };
  }

  dispose(): void {
    this.pixels.dispose();
    this.labels.dispose();
  }
}
