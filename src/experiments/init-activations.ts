/**
 * The book's experiment on weight initialization (ch. 6.2): 1,000 random inputs through five
 * layers of 100 units, weights N(0, scale²) with the scale of each initialization, and the
 * distribution of each layer's activations. With a poor scale they vanish (everything near 0),
 * saturate (sigmoid near 0 and 1), or lose their spread; Xavier suits sigmoid, He suits ReLU.
 */
import type { Backend } from '../backend/backend.js';
import { Rng } from '../data/rng.js';
import { gaussian, initStd, type WeightInit } from '../nn/init.js';
import type { Tensor } from '../tensor/tensor.js';

/** One layer's activations: mean, spread and a histogram. */
export interface LayerStats {
  layer: number;
  mean: number;
  std: number;
  /** Counts over `bins` equal bins of [0, 1] (the book's histogram range); values outside are clamped. */
  histogram: number[];
}

/** One activation with one initialization: the statistics of each layer. */
export interface InitRun {
  activation: 'sigmoid' | 'relu';
  init: WeightInit;
  layers: LayerStats[];
}

/** The book's setup: 1,000 inputs through 5 layers of 100 units; histograms of 30 bins. */
export const INIT_SETUP = { inputs: 1000, units: 100, layers: 5, bins: 30 };

/** The settings the book compares: each activation with a poor scale and with its fitting one. */
export const INIT_RUNS = [
  ['sigmoid', 1],
  ['sigmoid', 0.01],
  ['sigmoid', 'xavier'],
  ['relu', 0.01],
  ['relu', 'xavier'],
  ['relu', 'he'],
] as const;

/**
 * The book's weight-initialization experiment (ch. 6.2): how the activations spread, layer by
 * layer.
 */
export async function initActivations<T extends Tensor>(
  backend: Backend<T>,
  activation: 'sigmoid' | 'relu',
  init: WeightInit,
  seed = 1,
): Promise<InitRun> {
  const { inputs, units, layers, bins } = INIT_SETUP;
  const rng = new Rng(seed);
  let x = backend.fromArray(gaussian(rng, inputs * units, 1), [inputs, units]);
  const stats: LayerStats[] = [];
  for (let i = 0; i < layers; i++) {
    const w = backend.fromArray(gaussian(rng, units * units, initStd(init, units, 0.01)), [units, units]);
    const z = backend.matmul(x, w, { activation });
    const values = await backend.read(z);
    stats.push(describe(i + 1, values, bins));
    backend.dispose(x, w);
    x = z;
  }
  backend.dispose(x);
  return { activation, init, layers: stats };
}

function describe(layer: number, values: ArrayLike<number>, bins: number): LayerStats {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  const mean = sum / values.length;
  let sq = 0;
  const histogram = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    sq += (v - mean) ** 2;
    histogram[Math.min(bins - 1, Math.max(0, Math.floor(v * bins)))]! += 1;
  }
  return { layer, mean, std: Math.sqrt(sq / values.length), histogram };
}
