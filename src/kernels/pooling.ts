import code from '../../shaders/pooling.wgsl?raw';
import type { PoolGeometry } from '../backend/geometry.js';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import type { GpuTensor } from '../tensor/gpu-tensor.js';
import { dims, grid1d } from './grid.js';

type Floats = Float32Array | Float64Array;

/** argmax of an output whose maximum is a padded zero: no input receives its gradient. */
export const POOL_NONE = 0xffffffff;

/** The entry points of shaders/pooling.wgsl. */
export type PoolingEntry = 'max_pool_forward' | 'max_pool_forward_2x2' | 'max_pool_backward' | 'max_pool_backward_2x2';

/** Must match WG in shaders/pooling.wgsl. */
const WG = 64;

/** The pipeline of one pooling entry point. */
export function poolingKernel(entryPoint: PoolingEntry): KernelSpec {
  return { family: 'pooling', code, entryPoint };
}

/** Every pooling pipeline, for compiling up front. */
export const POOLING_KERNELS: KernelSpec[] = (
  ['max_pool_forward', 'max_pool_forward_2x2', 'max_pool_backward', 'max_pool_backward_2x2'] as const
).map(poolingKernel);

/**
 * The entry points that run `g`: the written-out 2x2 ones where they apply (forward: 2x2 windows
 * without padding; backward: also stride 2 and even H and W, so the windows tile the image and
 * each output writes its own four dx values), the general loops otherwise.
 */
export function poolingEntries(g: PoolGeometry): { forward: PoolingEntry; backward: PoolingEntry } {
  const twoByTwo = g.poolH === 2 && g.poolW === 2 && g.pad === 0;
  const tiles = twoByTwo && g.stride === 2 && g.height % 2 === 0 && g.width % 2 === 0;
  return {
    forward: twoByTwo ? 'max_pool_forward_2x2' : 'max_pool_forward',
    backward: tiles ? 'max_pool_backward_2x2' : 'max_pool_backward',
  };
}

/** The uniform of shaders/pooling.wgsl: `n` working invocations, then the geometry. */
function params(n: number, g: PoolGeometry): number[] {
  return [n, g.height, g.width, g.poolH, g.poolW, g.stride, g.pad, g.outH, g.outW];
}

/** '2x2 stride 2', for traces. */
function windowText(g: PoolGeometry): string {
  return `${g.poolH}x${g.poolW} stride ${g.stride}${g.pad ? ` pad ${g.pad}` : ''}`;
}

/**
 * Records y = the maximum of each window of x (padding counts as zeros) and argmax, the flat
 * index into x of the value taken (POOL_NONE for a padded zero). One invocation per output.
 */
export function maxPoolForwardGpu(ctx: GpuContext, g: PoolGeometry, x: GpuTensor, y: GpuTensor, argmax: GpuTensor): void {
  const outputs = g.batch * g.channels * g.outH * g.outW;
  ctx.dispatch({
    kernel: poolingKernel(poolingEntries(g).forward),
    params: params(outputs, g),
    buffers: [x.buffer, undefined, y.buffer, argmax.buffer],
    workgroups: grid1d(outputs, WG),
    shapes: `x${dims(x.shape)} max ${windowText(g)} → y${dims(y.shape)}, argmax${dims(argmax.shape)}`,
  });
}

/**
 * Records dx[i] = Σ dy over the outputs whose argmax is i, zero elsewhere: one invocation per
 * input element, which gathers from the outputs whose windows contain it (or, where 2x2 windows
 * tile the image, one per output, which writes its window). No atomics; the same sums in the same
 * order on every run.
 */
export function maxPoolBackwardGpu(ctx: GpuContext, g: PoolGeometry, dy: GpuTensor, argmax: GpuTensor, dx: GpuTensor): void {
  const entry = poolingEntries(g).backward;
  const n = entry === 'max_pool_backward' ? g.batch * g.channels * g.height * g.width : g.batch * g.channels * g.outH * g.outW;
  ctx.dispatch({
    kernel: poolingKernel(entry),
    params: params(n, g),
    buffers: [dy.buffer, argmax.buffer, dx.buffer],
    workgroups: grid1d(n, WG),
    shapes: `dy${dims(dy.shape)}, argmax${dims(argmax.shape)} ${windowText(g)} → dx${dims(dx.shape)}`,
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
      for (let ow = 0; ow < outW; ow++, o++) {
        const w0 = ow * stride - pad;
        if (h0 < 0 || w0 < 0 || h0 + poolH > height || w0 + poolW > width) {
          paddedWindowMax(g, x, y, argmax, o, base, h0, w0);
          continue;
        }
        // A window inside the image (all of them without padding): no bounds checks.
        let arg = base + h0 * width + w0;
        let best = x[arg]!;
        if (best === best) {
          scan: for (let row = arg, end = row + poolH * width; row < end; row += width) {
            for (let i = row; i < row + poolW; i++) {
              const v = x[i]!;
              if (v > best) {
                best = v;
                arg = i;
              } else if (v !== v) {
                best = v;
                arg = i;
                break scan;
              }
            }
          }
        }
        y[o] = best;
        argmax[o] = arg;
      }
    }
  }
}

/** maxPoolForwardCpu of output o, whose window reaches into the padding (zeros, POOL_NONE). */
function paddedWindowMax(g: PoolGeometry, x: Floats, y: Floats, argmax: Uint32Array, o: number, base: number, h0: number, w0: number): void {
  let best = 0;
  let arg = POOL_NONE;
  let first = true;
  scan: for (let h = h0; h < h0 + g.poolH; h++) {
    const rowInside = h >= 0 && h < g.height;
    for (let w = w0; w < w0 + g.poolW; w++) {
      let v = 0;
      let i = POOL_NONE;
      if (rowInside && w >= 0 && w < g.width) {
        i = base + h * g.width + w;
        v = x[i]!;
      }
      if (first || v > best || v !== v) {
        best = v;
        arg = i;
        first = false;
        if (v !== v) break scan;
      }
    }
  }
  y[o] = best;
  argmax[o] = arg;
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
