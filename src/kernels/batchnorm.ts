import code from '../../shaders/batchnorm.wgsl?raw';
import type { BatchNormHyper, RunningStats } from '../backend/ops.js';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import { f32bits } from '../gpu/uniforms.js';
import type { GpuTensor } from '../tensor/gpu-tensor.js';
import { dims, grid1d } from './grid.js';

type Floats = Float32Array | Float64Array;
/** The entry points of shaders/batchnorm.wgsl. */
export type BatchNormEntry = 'batchnorm_train' | 'batchnorm_inference' | 'batchnorm_backward';

/** The pipeline of one BatchNorm entry point. */
export function batchNormKernel(entryPoint: BatchNormEntry): KernelSpec {
  return { family: 'batchnorm', code, entryPoint };
}

/** Every BatchNorm pipeline, for compiling up front. */
export const BATCHNORM_KERNELS: KernelSpec[] = (['batchnorm_train', 'batchnorm_inference', 'batchnorm_backward'] as const).map(batchNormKernel);

/** The book's defaults: running statistics keep 0.9 of their value per step; 1e-6 (`10e-7`) under the square root. */
export const BATCHNORM_DEFAULTS: BatchNormHyper = { momentum: 0.9, eps: 1e-6 };

/** Training forward: y, the saved xn and 1/std, and the running statistics moved in place. */
export function batchNormTrainGpu(
  ctx: GpuContext,
  x: GpuTensor,
  gamma: GpuTensor,
  beta: GpuTensor,
  running: RunningStats<GpuTensor>,
  out: { y: GpuTensor; xn: GpuTensor; invStd: GpuTensor },
  h: BatchNormHyper,
): void {
  const [rows, cols] = x.shape as [number, number];
  ctx.dispatch({
    kernel: batchNormKernel('batchnorm_train'),
    params: [rows, cols, f32bits(h.momentum), f32bits(h.eps)],
    buffers: [x.buffer, gamma.buffer, beta.buffer, undefined, undefined, out.y.buffer, out.xn.buffer, out.invStd.buffer, running.mean.buffer, running.variance.buffer],
    workgroups: grid1d(cols, 64),
    shapes: `x${dims(x.shape)}, γ β[${cols}] → y, xn${dims(x.shape)}, 1/σ[${cols}]; running mean, var[${cols}] updated`,
  });
}

/** Records y = gamma · (x - running mean) / sqrt(running variance + eps) + beta. */
export function batchNormInferenceGpu(ctx: GpuContext, x: GpuTensor, gamma: GpuTensor, beta: GpuTensor, running: RunningStats<GpuTensor>, y: GpuTensor, h: BatchNormHyper): void {
  const [rows, cols] = x.shape as [number, number];
  ctx.dispatch({
    kernel: batchNormKernel('batchnorm_inference'),
    params: [rows, cols, f32bits(h.momentum), f32bits(h.eps)],
    buffers: [x.buffer, gamma.buffer, beta.buffer, undefined, undefined, y.buffer, undefined, undefined, running.mean.buffer, running.variance.buffer],
    workgroups: grid1d(rows * cols, 64),
    shapes: `x${dims(x.shape)}, running mean, var[${cols}] → y${dims(x.shape)}`,
  });
}

/** Records dx, dgamma and dbeta from dout and what the training forward kept (xn, 1/std). */
export function batchNormBackwardGpu(
  ctx: GpuContext,
  dy: GpuTensor,
  xn: GpuTensor,
  invStd: GpuTensor,
  gamma: GpuTensor,
  out: { dx: GpuTensor; dgamma: GpuTensor; dbeta: GpuTensor },
): void {
  const [rows, cols] = dy.shape as [number, number];
  ctx.dispatch({
    kernel: batchNormKernel('batchnorm_backward'),
    params: [rows, cols, 0, 0],
    buffers: [dy.buffer, gamma.buffer, undefined, xn.buffer, invStd.buffer, out.dx.buffer, undefined, undefined, undefined, undefined, out.dgamma.buffer, out.dbeta.buffer],
    workgroups: grid1d(cols, 64),
    shapes: `dy, xn${dims(dy.shape)}, 1/σ[${cols}] → dx${dims(dy.shape)}, dγ, dβ[${cols}]`,
  });
}

/**
 * CPU reference of the training forward: each column normalized over the batch, the running
 * statistics moved by the book's momentum.
 */
export function batchNormTrainCpu(
  x: Floats,
  [rows, cols]: readonly [number, number],
  gamma: Floats,
  beta: Floats,
  running: RunningStats<Floats>,
  out: { y: Floats; xn: Floats; invStd: Floats },
  h: BatchNormHyper,
): void {
  for (let c = 0; c < cols; c++) {
    let sum = 0;
    for (let r = 0; r < rows; r++) sum += x[r * cols + c]!;
    const mean = sum / rows;
    let squares = 0;
    for (let r = 0; r < rows; r++) squares += (x[r * cols + c]! - mean) ** 2;
    const variance = squares / rows;
    const invStd = 1 / Math.sqrt(variance + h.eps);
    out.invStd[c] = invStd;
    for (let r = 0; r < rows; r++) {
      const i = r * cols + c;
      const xn = (x[i]! - mean) * invStd;
      out.xn[i] = xn;
      out.y[i] = gamma[c]! * xn + beta[c]!;
    }
    running.mean[c] = h.momentum * running.mean[c]! + (1 - h.momentum) * mean;
    running.variance[c] = h.momentum * running.variance[c]! + (1 - h.momentum) * variance;
  }
}

/** CPU reference of the inference forward, with the running statistics. */
export function batchNormInferenceCpu(x: Floats, cols: number, gamma: Floats, beta: Floats, running: RunningStats<Floats>, y: Floats, h: BatchNormHyper): void {
  for (let i = 0; i < x.length; i++) {
    const c = i % cols;
    y[i] = (gamma[c]! * (x[i]! - running.mean[c]!)) / Math.sqrt(running.variance[c]! + h.eps) + beta[c]!;
  }
}

/** CPU reference of the backward: the book's BatchNormalization.backward. */
export function batchNormBackwardCpu(
  dy: Floats,
  [rows, cols]: readonly [number, number],
  xn: Floats,
  invStd: Floats,
  gamma: Floats,
  out: { dx: Floats; dgamma: Floats; dbeta: Floats },
): void {
  for (let c = 0; c < cols; c++) {
    let sumDy = 0;
    let sumDyXn = 0;
    for (let r = 0; r < rows; r++) {
      sumDy += dy[r * cols + c]!;
      sumDyXn += dy[r * cols + c]! * xn[r * cols + c]!;
    }
    out.dbeta[c] = sumDy;
    out.dgamma[c] = sumDyXn;
    const scale = gamma[c]! * invStd[c]!;
    for (let r = 0; r < rows; r++) {
      const i = r * cols + c;
      out.dx[i] = scale * (dy[i]! - sumDy / rows - (xn[i]! * sumDyXn) / rows);
    }
  }
}
