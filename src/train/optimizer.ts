import type { Backend } from '../backend/backend.js';
import type { Param } from '../nn/layers.js';
import type { Tensor } from '../tensor/tensor.js';

/** Updates parameters in place from their gradients; later optimizers keep their state on the backend. */
export interface Optimizer<T extends Tensor> {
  readonly name: string;
  update(params: readonly Param<T>[]): void;
}

/** p -= lr · ∂L/∂p, the book's SGD. */
export class SGD<T extends Tensor> implements Optimizer<T> {
  readonly name = 'SGD';

  constructor(
    private readonly backend: Backend<T>,
    readonly lr: number,
  ) {
    if (!Number.isFinite(lr) || lr <= 0) throw new RangeError(`SGD: learning rate must be a finite number > 0, got ${lr}`);
  }

  update(params: readonly Param<T>[]): void {
    for (const p of params) {
      if (!p.grad) throw new Error(`SGD: ${p.name} has no gradient (run backward first)`);
      this.backend.sgdUpdate(p.value, p.grad, this.lr);
    }
  }
}
