import code from '../../shaders/pooling.wgsl?raw';
import type { PoolGeometry } from '../backend/geometry.js';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import type { GpuTensor } from '../tensor/gpu-tensor.js';
import { grid1d } from './grid.js';

type Floats = Float32Array | Float64Array;

/** argmax of an output whose maximum is a padded zero: no input receives its gradient. */
export const POOL_NONE = 0xffffffff;

/** The entry points of shaders/pooling.wgsl. */
export type PoolingEntry = 'max_pool_forward' | 'max_pool_backward';

/** Must match WG in shaders/pooling.wgsl. */
const WG = 64;

/** The pipeline of one pooling entry point. */
export function poolingKernel(entryPoint: PoolingEntry): KernelSpec {
  return { family: 'pooling', code, entryPoint };
}

/** Every pooling pipeline, for compiling up front. */
export const POOLING_KERNELS: KernelSpec[] = (['max_pool_forward', 'max_pool_backward'] as const).map(poolingKernel);

/** The uniform of shaders/pooling.wgsl: `n` invocations, then the geometry. */
function params(n: number, g: PoolGeometry): number[] {
  return [n, g.height, g.width, g.poolH, g.poolW, g.stride, g.pad, g.outH, g.outW];
}

function window(g: PoolGeometry): string {
  return `${g.poolH}x${g.poolW}/${g.stride}${g.pad ? ` pad ${g.pad}` : ''}`;
}

/**
 * Records y = the maximum of each window of x (padding counts as zeros) and argmax, the flat
 * index into x of the value taken (POOL_NONE for a padded zero). One invocation per output.
 */
export function maxPoolForwardGpu(ctx: GpuContext, g: PoolGeometry, x: GpuTensor, y: GpuTensor, argmax: GpuTensor): void {
  const n = g.batch * g.channels * g.outH * g.outW;
  const out = `[${g.batch},${g.channels},${g.outH},${g.outW}]`;
  ctx.dispatch({
    kernel: poolingKernel('max_pool_forward'),
    params: params(n, g),
    buffers: [x.buffer, undefined, y.buffer, argmax.buffer],
    workgroups: grid1d(n, WG),
    shapes: `x[${g.batch},${g.channels},${g.height},${g.width}] max ${window(g)} → y${out}, argmax${out}`,
  });
}

/**
 * Records dx[i] = Σ dy over the outputs whose argmax is i, zero elsewhere. One invocation per
 * input element, which gathers from the outputs whose windows contain it: no atomics, and the
 * same sum in the same order on every run.
 */
export function maxPoolBackwardGpu(ctx: GpuContext, g: PoolGeometry, dy: GpuTensor, argmax: GpuTensor, dx: GpuTensor): void {
  const n = g.batch * g.channels * g.height * g.width;
  const out = `[${g.batch},${g.channels},${g.outH},${g.outW}]`;
  ctx.dispatch({
    kernel: poolingKernel('max_pool_backward'),
    params: params(n, g),
    buffers: [dy.buffer, argmax.buffer, dx.buffer],
    workgroups: grid1d(n, WG),
    shapes: `dy${out}, argmax${out} ${window(g)} → dx[${g.batch},${g.channels},${g.height},${g.width}]`,
  });
}

/**
 * CPU reference of the forward, and the CPU backend's. The book's Pooling.forward unrolls the
 * windows with im2col (padding with zeros) into rows of poolH·poolW values, then takes
 * np.max(col, axis=1) and keeps np.argmax(col, axis=1); here each window is read in place, in the
 * same row-major order, and the column of the argmax is turned into the flat index into x (or
 * POOL_NONE where it falls on the padding). Ties go to the first position (strict >, as argmax);
 * the first NaN of a window wins and y is NaN (as np.max and np.argmax). Same rule as the shader.
 */
export function maxPoolForwardCpu(g: PoolGeometry, x: Floats, y: Floats, argmax: Uint32Array): void {
  const { height, width, poolH, poolW, stride, pad, outH, outW } = g;
  const planes = g.batch * g.channels;
  let o = 0;
  for (let plane = 0; plane < planes; plane++) {
    const base = plane * height * width;
    for (let oh = 0; oh < outH; oh++) {
      const h0 = oh * stride - pad;
      for (let ow = 0; ow < outW; ow++) {
        const w0 = ow * stride - pad;
        let best = 0;
        let arg = POOL_NONE;
        let first = true;
        for (let h = h0; h < h0 + poolH; h++) {
          const rowInside = h >= 0 && h < height;
          const row = base + h * width;
          for (let w = w0; w < w0 + poolW; w++) {
            let v = 0;
            let idx = POOL_NONE;
            if (rowInside && w >= 0 && w < width) {
              idx = row + w;
              v = x[idx]!;
            }
            // best === best: best is not NaN (once a NaN is taken, nothing replaces it).
            if (first || (best === best && (v !== v || v > best))) {
              best = v;
              arg = idx;
              first = false;
            }
          }
        }
        y[o] = best;
        argmax[o] = arg;
        o++;
      }
    }
  }
}

/**
 * CPU reference of the backward, and the CPU backend's. The book's Pooling.backward scatters
 * dout into dmax (zeros, dout at [row, argmax]) and folds dmax back onto the image with col2im,
 * which adds up where windows overlap and drops the padding; here each dy goes straight to the
 * index its argmax names (nothing for POOL_NONE). Outputs are visited in (n, c, oh, ow) order,
 * so each dx[i] adds its terms in the same order as the shader's gather: with float32 storage the
 * two agree exactly.
 */
export function maxPoolBackwardCpu(g: PoolGeometry, dy: Floats, argmax: Uint32Array, dx: Floats): void {
  dx.fill(0);
  const n = g.batch * g.channels * g.outH * g.outW;
  for (let o = 0; o < n; o++) {
    const i = argmax[o]!;
    if (i !== POOL_NONE) dx[i]! += dy[o]!;
  }
}
