import type { Backend } from '../backend/backend.js';
import type { ForwardMode, Param } from '../nn/layer.js';
import type { CpuTensor } from '../tensor/cpu-tensor.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * The book's numerical_gradient: central differences (f(x+h) - f(x-h)) / 2h, one coordinate
 * at a time, restoring each before the next. Slow on purpose: it is the yardstick backprop is
 * checked against, and the reason backprop exists.
 */
export function numericalGradient(f: () => number, x: Float64Array | Float32Array, h = 1e-4): Float64Array {
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = x[i]!;
    x[i] = saved + h;
    const up = f();
    x[i] = saved - h;
    const down = f();
    x[i] = saved;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

/** What the numerical gradient needs of a model: its parameters and its loss as a function of them. */
export interface LossModel<T extends Tensor> {
  readonly backend: Backend<T>;
  params(): Param<T>[];
  loss(x: T, t: T, mode?: ForwardMode): T;
}

/**
 * Central-difference gradient of every parameter of a model, by name (the book's
 * TwoLayerNet.numerical_gradient). CPU backend only: every probe is a full forward pass whose
 * loss is read synchronously.
 */
export function numericalGradients<T extends Tensor>(model: LossModel<T>, x: T, t: T, h = 1e-4, step = 0): Map<string, Float64Array> {
  if (model.backend.device !== 'cpu') throw new Error('numericalGradient runs on the CPU backend (use a CpuBackend net)');
  // Training mode with the dropout masks of `step`, as `gradient(x, t, step)` differentiates.
  const lossValue = () => (model.loss(x, t, { train: true, step }) as unknown as CpuTensor).data[0]!;
  const grads = new Map<string, Float64Array>();
  for (const p of model.params()) {
    const data = (p.value as unknown as CpuTensor).data;
    if (data instanceof Uint32Array) throw new TypeError(`${p.name} is not a float tensor`);
    grads.set(p.name, numericalGradient(lossValue, data, h));
  }
  return grads;
}
