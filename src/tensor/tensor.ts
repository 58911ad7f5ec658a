import type { DType, Shape } from './shape.js';

/** What layers and networks may know about a tensor on either device. */
export interface Tensor {
  readonly shape: Shape;
  readonly dtype: DType;
  readonly size: number;
}
