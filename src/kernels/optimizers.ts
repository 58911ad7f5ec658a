import family from '../../shaders/optimizers.wgsl?raw';
import type { OptimizerHyper, OptimizerKind } from '../backend/ops.js';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import { f32bits } from '../gpu/uniforms.js';
import type { GpuTensor } from '../tensor/gpu-tensor.js';
import { blockEntry, withElementEntryPoints, type ElementBlock } from './element-block.js';
import { dims, grid1d } from './grid.js';

type Floats = Float32Array | Float64Array;

// Also named here, beside the kernels, for callers that import both (src/train/optimizer.ts).

/** The update rules with state, each an entry point of shaders/optimizers.wgsl. */
export const OPTIMIZER_KINDS: readonly OptimizerKind[] = ['momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam'];

/** The hyperparameters each kind needs, and the names of its state tensors in order. */
export const OPTIMIZER_SPEC: Record<OptimizerKind, { hyper: readonly (keyof OptimizerHyper)[]; state: readonly string[] }> = {
  momentum: { hyper: ['lr', 'momentum'], state: ['v'] },
  nesterov: { hyper: ['lr', 'momentum'], state: ['v'] },
  adagrad: { hyper: ['lr'], state: ['h'] },
  rmsprop: { hyper: ['lr', 'decay'], state: ['h'] },
  adam: { hyper: ['lr', 'beta1', 'beta2', 'step'], state: ['m', 'v'] },
};

/** The book's 1e-7 that keeps AdaGrad, RMSprop and Adam from dividing by zero. */
export const OPTIMIZER_EPS = 1e-7;

/** Adam's bias-corrected step size: lr · √(1 − β2^t) / (1 − β1^t) — divided, as the book does. */
export function adamLrT(lr: number, beta1: number, beta2: number, t: number): number {
  return (lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
}

const code = withElementEntryPoints(family, ['sgd', ...OPTIMIZER_KINDS]);

/** The SGD update's pipeline, at `block` elements per invocation. */
export function sgdKernel(block: ElementBlock = 1): KernelSpec {
  return { family: 'optimizers', code, entryPoint: blockEntry('sgd', block) };
}

/** A stateful update rule's pipeline, at `block` elements per invocation. */
export function optimizerKernel(kind: OptimizerKind, block: ElementBlock = 1): KernelSpec {
  return { family: 'optimizers', code, entryPoint: blockEntry(kind, block) };
}

/** SGD and every stateful optimizer, `block` elements per invocation. */
export function optimizerKernels(block: ElementBlock): KernelSpec[] {
  return [sgdKernel(block), ...OPTIMIZER_KINDS.map((k) => optimizerKernel(k, block))];
}

/** param -= lr * grad, in place, `block` elements per invocation (the backend's choice). */
export function sgdGpu(ctx: GpuContext, block: ElementBlock, param: GpuTensor, grad: GpuTensor, lr: number): void {
  ctx.dispatch({
    kernel: sgdKernel(block),
    params: [param.size, f32bits(lr), 0, 0, 0, 0],
    buffers: [grad.buffer, param.buffer],
    workgroups: grid1d(Math.ceil(param.size / block), 256),
    shapes: `p${dims(param.shape)} -= ${lr} · g${dims(grad.shape)}`,
  });
}

/** CPU reference: param -= lr · grad. */
export function sgdCpu(param: Floats, grad: Floats, lr: number): void {
  for (let i = 0; i < param.length; i++) param[i]! -= lr * grad[i]!;
}

/**
 * The uniform's lr and coefficients c0..c3 for one kind (see shaders/optimizers.wgsl), computed
 * in float64 so the kernel rounds each only once, to float32.
 */
export function optimizerUniform(kind: OptimizerKind, h: OptimizerHyper): [number, number, number, number, number] {
  switch (kind) {
    case 'momentum':
      return [h.lr, h.momentum!, 0, 0, 0];
    case 'nesterov':
      return [h.lr, h.momentum!, h.momentum! * h.momentum!, (1 + h.momentum!) * h.lr, 0];
    case 'adagrad':
      return [h.lr, 0, 0, 0, 0];
    case 'rmsprop':
      return [h.lr, h.decay!, 1 - h.decay!, 0, 0];
    case 'adam':
      return [adamLrT(h.lr, h.beta1!, h.beta2!, h.step!), 1 - h.beta1!, 1 - h.beta2!, 0, 0];
  }
}

/**
 * One optimizer step in place: param and its state tensors (OPTIMIZER_SPEC[kind].state) are
 * updated from grad by one dispatch of `block` elements per invocation. Hyperparameters must
 * have been checked (checkOptimizer).
 */
export function optimizerGpu(ctx: GpuContext, block: ElementBlock, kind: OptimizerKind, param: GpuTensor, grad: GpuTensor, state: readonly GpuTensor[], hyper: OptimizerHyper): void {
  const [lr, ...c] = optimizerUniform(kind, hyper);
  const names = OPTIMIZER_SPEC[kind].state;
  ctx.dispatch({
    kernel: optimizerKernel(kind, block),
    params: [param.size, f32bits(lr), ...c.map(f32bits)],
    buffers: [grad.buffer, param.buffer, state[0]?.buffer, state[1]?.buffer],
    workgroups: grid1d(Math.ceil(param.size / block), 256),
    shapes: `${kind}${kind === 'adam' ? ` t=${hyper.step}` : ''}: p${dims(param.shape)}, ${names.join(', ')} ← g${dims(grad.shape)}`,
  });
}

/**
 * The float64 reference, written as the book writes each update (common/optimizer.py), element
 * by element. `state` holds the kind's state arrays in OPTIMIZER_SPEC order.
 */
export function optimizerCpu(kind: OptimizerKind, param: Floats, grad: Floats, state: readonly Floats[], h: OptimizerHyper): void {
  const n = param.length;
  const lr = h.lr;
  switch (kind) {
    case 'momentum': {
      const v = state[0]!;
      const mom = h.momentum!;
      for (let i = 0; i < n; i++) {
        v[i] = mom * v[i]! - lr * grad[i]!;
        param[i]! += v[i]!;
      }
      return;
    }
    case 'nesterov': {
      const v = state[0]!;
      const mom = h.momentum!;
      for (let i = 0; i < n; i++) {
        v[i]! *= mom;
        v[i]! -= lr * grad[i]!;
        param[i]! += mom * mom * v[i]!;
        param[i]! -= (1 + mom) * lr * grad[i]!;
      }
      return;
    }
    case 'adagrad': {
      const hh = state[0]!;
      for (let i = 0; i < n; i++) {
        const g = grad[i]!;
        hh[i]! += g * g;
        param[i]! -= (lr * g) / (Math.sqrt(hh[i]!) + OPTIMIZER_EPS);
      }
      return;
    }
    case 'rmsprop': {
      const hh = state[0]!;
      const decay = h.decay!;
      for (let i = 0; i < n; i++) {
        const g = grad[i]!;
        hh[i]! *= decay;
        hh[i]! += (1 - decay) * g * g;
        param[i]! -= (lr * g) / (Math.sqrt(hh[i]!) + OPTIMIZER_EPS);
      }
      return;
    }
    case 'adam': {
      const [m, v] = state as [Floats, Floats];
      const b1 = h.beta1!;
      const b2 = h.beta2!;
      const lrT = adamLrT(lr, b1, b2, h.step!);
      for (let i = 0; i < n; i++) {
        const g = grad[i]!;
        m[i]! += (1 - b1) * (g - m[i]!);
        v[i]! += (1 - b2) * (g * g - v[i]!);
        param[i]! -= (lrT * m[i]!) / (Math.sqrt(v[i]!) + OPTIMIZER_EPS);
      }
      return;
    }
  }
}
