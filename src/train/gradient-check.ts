import type { Tensor } from '../tensor/tensor.js';
import type { MultiLayerNet } from '../nn/multi-layer-net.js';

export interface GradientDiff {
  name: string;
  /** mean |a - b|, the book's gradient_check figure. */
  meanAbsDiff: number;
  /** max |a - b| / max(|b|), scale-free. */
  maxRelDiff: number;
}

export function compareGradients(a: Map<string, ArrayLike<number>>, b: Map<string, ArrayLike<number>>): GradientDiff[] {
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
    return { name, meanAbsDiff: y.length ? sum / y.length : 0, maxRelDiff: scale > 0 ? max / scale : max };
  });
}

/** Backprop gradients of every parameter, read back as float64 arrays. */
export async function backpropGradients<T extends Tensor>(net: MultiLayerNet<T>, x: T, t: T): Promise<Map<string, Float64Array>> {
  net.gradient(x, t);
  const grads = new Map<string, Float64Array>();
  for (const p of net.params()) grads.set(p.name, Float64Array.from(await net.backend.read(p.grad!)));
  return grads;
}
