import { checkShape, ShapeError, shapeStr, sizeOf, type DType, type Shape } from './shape.js';
import type { Tensor } from './tensor.js';

/** A CPU tensor's values: float64 for the reference, float32 like the GPU, or u32 labels. */
export type CpuData = Float32Array | Float64Array | Uint32Array;

/** The GpuTensor's CPU twin: a shape over a typed array (f64 for the reference, f32 to match the GPU). */
export class CpuTensor implements Tensor {
  readonly size: number;

  constructor(
    readonly shape: Shape,
    readonly data: CpuData,
  ) {
    checkShape(shape, 'CpuTensor');
    this.size = sizeOf(shape);
    if (data.length !== this.size) {
      throw new ShapeError(`CpuTensor: ${data.length} values do not fill shape ${shapeStr(shape)} (${this.size} values)`);
    }
  }

  get dtype(): DType {
    return this.data instanceof Float64Array ? 'f64' : this.data instanceof Float32Array ? 'f32' : 'u32';
  }

  /** The same values under another shape of the same size, sharing the array (no copy). */
  view(shape: Shape): CpuTensor {
    checkShape(shape, 'CpuTensor.view');
    if (sizeOf(shape) !== this.size) {
      throw new ShapeError(`reshape: ${shapeStr(this.shape)} (${this.size} values) cannot be viewed as ${shapeStr(shape)} (${sizeOf(shape)} values)`);
    }
    return new CpuTensor(shape, this.data);
  }

  static zeros(shape: Shape, dtype: DType): CpuTensor {
    const n = sizeOf(shape);
    return new CpuTensor(shape, dtype === 'f64' ? new Float64Array(n) : dtype === 'f32' ? new Float32Array(n) : new Uint32Array(n));
  }
}
