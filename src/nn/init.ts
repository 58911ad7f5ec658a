import type { Rng } from '../data/rng.js';

/** 'std' uses a fixed standard deviation (the book's TwoLayerNet: 0.01); a number is that std. */
export type WeightInit = 'std' | 'xavier' | 'he' | number;

/**
 * The book's scales: Xavier sqrt(1/n) suits sigmoid, He sqrt(2/n) suits ReLU, n being the
 * number of inputs to the layer.
 */
export function initStd(init: WeightInit, fanIn: number, fixedStd = 0.01): number {
  if (typeof init === 'number') return init;
  if (init === 'xavier') return Math.sqrt(1 / fanIn);
  if (init === 'he') return Math.sqrt(2 / fanIn);
  return fixedStd;
}

/** std · N(0, 1) values, in row-major order, from the seeded generator. */
export function gaussian(rng: Rng, count: number, std: number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = std * rng.normal();
  return out;
}
