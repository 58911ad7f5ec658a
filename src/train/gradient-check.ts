import type { Tensor } from '../tensor/tensor.js';
import type { Model } from './trainer.js';

/** How two gradients of one parameter differ. */
export interface GradientDiff {
  name: string;
  /** mean |a - b|, the book's gradient_check figure. */
  meanAbsDiff: number;
  /** max |a - b| / max(|b|, scaleFloor), scale-free. */
  maxRelDiff: number;
}

/**
 * How a against reference b differ, per parameter. `scaleFloor` keeps a gradient that is zero
 * in exact arithmetic (a bias right before BatchNorm, which subtracts it again) from dividing
 * rounding noise by noise: pass a small fraction of the net's largest gradient (`largestValue`).
 */
export function compareGradients(a: Map<string, ArrayLike<number>>, b: Map<string, ArrayLike<number>>, scaleFloor = 0): GradientDiff[] {
  return [...b.keys()].map((name) => {
    const x = a.get(name);
    const y = b.get(name)!;
    if (!x || x.length !== y.length) throw new Error(`gradient ${name}: missing or of another size`);
    let sum = 0;
    let max = 0;
    let scale = 0;
    for (let i = 0; i < y.length; i++) {
      const d = Math.abs(x[i]! - y[i]!);
      sum += d;
      max = Math.max(max, Number.isNaN(d) ? Infinity : d);
      scale = Math.max(scale, Math.abs(y[i]!));
    }
    scale = Math.max(scale, scaleFloor);
    return { name, meanAbsDiff: y.length ? sum / y.length : 0, maxRelDiff: scale > 0 ? max / scale : max };
  });
}

/** The largest |value| over every gradient of a net. */
export function largestValue(grads: Map<string, ArrayLike<number>>): number {
  let max = 0;
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) max = Math.max(max, Math.abs(g[i]!));
  return max;
}

/** Backprop gradients of every parameter of a model (step 0's dropout masks), read back as float64 arrays. */
export async function backpropGradients<T extends Tensor>(model: Pick<Model<T>, 'backend' | 'gradient' | 'params'>, x: T, t: T): Promise<Map<string, Float64Array>> {
  model.gradient(x, t, 0);
  const grads = new Map<string, Float64Array>();
  for (const p of model.params()) grads.set(p.name, Float64Array.from(await model.backend.read(p.grad!)));
  return grads;
}
