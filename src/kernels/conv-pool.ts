import block from '../../shaders/conv-block.wgsl?raw';
import poolCode from '../../shaders/conv-pool.wgsl?raw';
import type { ConvGeometry, PoolGeometry } from '../backend/geometry.js';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import { GpuTensor } from '../tensor/gpu-tensor.js';
import { ShapeError } from '../tensor/shape.js';
import { convFilterSumGpu, convForwardCpu, convKernel, variantConstants, type ConvVariant } from './conv.js';
import { dims, grid1d } from './grid.js';
import { POOL_NONE } from './pooling.js';

type Floats = Float32Array | Float64Array;

/** shaders/conv-pool.wgsl with the convolution's register block (shaders/conv-block.wgsl) in front. */
const code = `${block}\n${poolCode}`;

/** The entry points of shaders/conv-pool.wgsl. */
export type ConvPoolEntry = 'conv_relu_pool_forward' | 'conv_relu_pool_forward_2x2' | 'conv_pool_filter_partial';

/** Must match WG in shaders/conv-pool.wgsl. */
const WG = 64;
/** Filters per forward invocation (its register block), and taps per filter-gradient invocation. */
const BLOCK_FILTERS = 8;
const BLOCK_TAPS = 28;
/**
 * Pooled positions (n, ph, pw) per chunk of the filter gradient's split reduction, roughly: a
 * chunk is whole pooled rows (n, ph). SimpleConvNet's 14,400 pooled positions per filter make 240
 * chunks of 5 rows, so pass 1 runs 7,200 invocations (30 filters x 1 block of 28 taps x 240) and
 * pass 2 adds 240 partial sums per weight. (32 to 256 measured alike on SwiftShader; the smaller
 * chunk leaves more invocations to a hardware GPU.)
 */
export const CONV_POOL_CHUNK_POSITIONS = 64;

/** The forward entry points of shaders/conv-pool.wgsl. */
export type ConvPoolForwardEntry = 'conv_relu_pool_forward' | 'conv_relu_pool_forward_2x2';

/** The pipeline of one entry point of shaders/conv-pool.wgsl, in a variant (the forwards: both; see ConvVariant). */
export function convPoolKernel(entryPoint: ConvPoolEntry, variant: ConvVariant = {}): KernelSpec {
  const constants = variantConstants(variant);
  return constants ? { family: 'conv-pool', code, entryPoint, constants } : { family: 'conv-pool', code, entryPoint };
}

/**
 * Every pipeline the fused layer's step uses, for compiling up front: both forwards (for one
 * channel and for several), the filter gradient's two passes (the second conv.wgsl's); with
 * skipZeroRows also the SKIP_ZEROS forwards and conv.wgsl's row spans they read.
 */
export function convPoolKernels(skipZeroRows = false): KernelSpec[] {
  const forwards = (skipZeros: boolean) =>
    (['conv_relu_pool_forward', 'conv_relu_pool_forward_2x2'] as const).flatMap((e) => [false, true].map((oneChannel) => convPoolKernel(e, { skipZeros, oneChannel })));
  return [
    ...forwards(false),
    convPoolKernel('conv_pool_filter_partial'),
    // Pass 2 of the filter gradient is conv.wgsl's.
    convKernel('conv_filter_sum'),
    // A data batch's forwards read the row spans conv.wgsl's pass finds.
    ...(skipZeroRows ? [convKernel('conv_row_spans'), ...forwards(true)] : []),
  ];
}

/** The forward entry point for pooling `pg`: the 2x2 one for 2x2 windows, stride 2, no padding. */
export function convPoolForwardEntry(pg: PoolGeometry): ConvPoolForwardEntry {
  return pg.poolH === 2 && pg.poolW === 2 && pg.stride === 2 && pg.pad === 0 ? 'conv_relu_pool_forward_2x2' : 'conv_relu_pool_forward';
}

/** Pooled rows (n, ph) per chunk of the filter gradient's reduction. */
export function convPoolRowsPerChunk(pg: PoolGeometry): number {
  return Math.max(1, Math.round(CONV_POOL_CHUNK_POSITIONS / pg.outW));
}

/** Refuses a pooling that is not over this convolution's output [N, O, OH, OW]. */
function checkPair(cg: ConvGeometry, pg: PoolGeometry): void {
  if (pg.batch !== cg.batch || pg.channels !== cg.filters || pg.height !== cg.outH || pg.width !== cg.outW) {
    throw new ShapeError(
      `conv-pool: the pooling's input [${pg.batch},${pg.channels},${pg.height},${pg.width}] is not the convolution's output [${cg.batch},${cg.filters},${cg.outH},${cg.outW}]`,
    );
  }
}

/** The uniform Params of shaders/conv-pool.wgsl. */
function params(cg: ConvGeometry, pg: PoolGeometry, rowsPerChunk = 1): number[] {
  return [
    cg.batch, cg.channels, cg.height, cg.width, cg.filters, cg.kh, cg.kw, cg.stride, cg.pad, cg.outH, cg.outW,
    pg.poolH, pg.poolW, pg.stride, pg.pad, pg.outH, pg.outW, rowsPerChunk,
  ];
}

const blocks = (n: number, size: number) => Math.ceil(n / size);

function note(cg: ConvGeometry, pg: PoolGeometry): string {
  const convArgs = cg.stride !== 1 || cg.pad !== 0 ? ` (stride ${cg.stride}, pad ${cg.pad})` : '';
  const poolArgs = `${pg.poolH}x${pg.poolW} stride ${pg.stride}${pg.pad ? ` pad ${pg.pad}` : ''}`;
  return `x[${cg.batch},${cg.channels},${cg.height},${cg.width}] ⊛ W[${cg.filters},${cg.channels},${cg.kh},${cg.kw}]${convArgs}, relu, max ${poolArgs}`;
}

/**
 * Records y = max pooling of relu(W ⊛ x + b) and argmax, the flat index into the conv output
 * [N, O, OH, OW] of the value taken, or POOL_NONE where y is 0 (ReLU passes no gradient there).
 * cg: the convolution's geometry (x [N,C,H,W], W [O,C,KH,KW]); pg = poolGeometry(convOutputShape(cg),
 * poolArgs). y and argmax (u32) have shape [N, O, pg.outH, pg.outW]. `spans`: convRowSpansGpu's
 * row spans of x (a data batch on a software adapter), to skip x's empty parts.
 */
export function convReluPoolForwardGpu(
  ctx: GpuContext,
  cg: ConvGeometry,
  pg: PoolGeometry,
  x: GpuTensor,
  w: GpuTensor,
  b: GpuTensor,
  y: GpuTensor,
  argmax: GpuTensor,
  spans?: GpuTensor,
): void {
  checkPair(cg, pg);
  const entry = convPoolForwardEntry(pg);
  const columns = entry === 'conv_relu_pool_forward_2x2' ? blocks(pg.outW, 2) : pg.outW;
  const invocations = columns * pg.outH * pg.batch * blocks(cg.filters, BLOCK_FILTERS);
  ctx.dispatch({
    kernel: convPoolKernel(entry, { skipZeros: !!spans, oneChannel: cg.channels === 1 }),
    params: params(cg, pg),
    buffers: [x.buffer, w.buffer, b.buffer, undefined, undefined, undefined, y.buffer, undefined, argmax.buffer, spans?.buffer ?? ctx.placeholder],
    workgroups: grid1d(invocations, WG),
    shapes: `${note(cg, pg)} + b[${cg.filters}] → y${dims(y.shape)}, argmax${dims(argmax.shape)}${spans ? ' (skipping empty columns)' : ''}`,
  });
}

/**
 * Records dW [O,C,KH,KW] and db [O] of the fused block from the pooled gradient dy [N,O,PH,PW]
 * and the forward's argmax: each dy whose argmax names a conv output (n, o, oh, ow) adds
 * dy·x[n, c, oh·s+i-pad, ow·s+j-pad] to dW[o,c,i,j] and dy to db[o]. Two dispatches: partial
 * sums over chunks of pooled rows into a pooled scratch tensor, then their sum; the scratch
 * goes back to the pool once recorded.
 */
export function convPoolBackwardFilterGpu(
  ctx: GpuContext,
  cg: ConvGeometry,
  pg: PoolGeometry,
  dy: GpuTensor,
  argmax: GpuTensor,
  x: GpuTensor,
  dw: GpuTensor,
  db: GpuTensor,
): void {
  checkPair(cg, pg);
  const rowsPerChunk = convPoolRowsPerChunk(pg);
  const chunks = blocks(pg.batch * pg.outH, rowsPerChunk);
  const cols = cg.channels * cg.kh * cg.kw + 1;
  const partial = GpuTensor.empty(ctx, [Math.max(chunks, 1), cg.filters, cols]);
  ctx.dispatch({
    kernel: convPoolKernel('conv_pool_filter_partial'),
    params: params(cg, pg, rowsPerChunk),
    buffers: [x.buffer, undefined, undefined, dy.buffer, argmax.buffer, undefined, partial.buffer],
    workgroups: grid1d(blocks(cols - 1, BLOCK_TAPS) * cg.filters * chunks, WG),
    shapes: `${note(cg, pg)}, dy${dims(dy.shape)}, argmax${dims(argmax.shape)} → partial dW|db [${chunks},${cg.filters},${cols}]`,
  });
  // Pass 2 is the unfused filter gradient's: the partial sums have its layout.
  convFilterSumGpu(ctx, cg, pg.outH, rowsPerChunk, partial, dw, db);
  partial.dispose();
}

// ---------------------------------------------------------------------------------------------
// CPU references, and the CPU backend's fused block: the book's three layers, Convolution →
// Relu → Pooling, with the convolution's output kept in float64 between them.

/**
 * Conv → Relu → max Pooling forward. The convolution is convForwardCpu (the book's im2col and
 * dot), into a buffer of the storage type; then each pooled output scans its window in row-major order, the
 * pooling's padding and ReLU's zeros counting as 0 (so a window's best starts at 0), and keeps
 * the first largest value: y = max(0, that value); argmax its flat index into the conv output
 * [N, O, OH, OW], or POOL_NONE where y is 0 (ReLU passes no gradient there). The first NaN of a
 * window wins, y NaN, as in maxPoolForwardCpu.
 */
export function convReluPoolForwardCpu(cg: ConvGeometry, pg: PoolGeometry, x: Floats, w: Floats, b: Floats, y: Floats, argmax: Uint32Array): void {
  checkPair(cg, pg);
  // In the storage's type, as the unfused layers store it: a float32 backend then compares the
  // same rounded values, and its ties (and argmax) are the unfused path's.
  const size = cg.batch * cg.filters * cg.outH * cg.outW;
  const conv = y instanceof Float32Array ? new Float32Array(size) : new Float64Array(size);
  convForwardCpu(cg, x, w, b, conv);
  const { outH: OH, outW: OW } = cg;
  const planes = pg.batch * pg.channels;
  let out = 0;
  for (let plane = 0; plane < planes; plane++) {
    const base = plane * OH * OW;
    for (let ph = 0; ph < pg.outH; ph++) {
      for (let pw = 0; pw < pg.outW; pw++, out++) {
        let best = 0;
        let arg = POOL_NONE;
        scan: for (let a = 0; a < pg.poolH; a++) {
          const oh = ph * pg.stride - pg.pad + a;
          if (oh < 0 || oh >= OH) continue;
          for (let bb = 0; bb < pg.poolW; bb++) {
            const ow = pw * pg.stride - pg.pad + bb;
            if (ow < 0 || ow >= OW) continue;
            const i = base + oh * OW + ow;
            const v = conv[i]!;
            if (v !== v) {
              best = v;
              arg = i;
              break scan;
            }
            if (v > best) {
              best = v;
              arg = i;
            }
          }
        }
        y[out] = best;
        argmax[out] = arg;
      }
    }
  }
}

/**
 * The filter gradient of Conv → Relu → max Pooling: the pooling's backward routes each dy to
 * the conv output its argmax names (nothing for POOL_NONE, which is also where ReLU's mask is
 * 0), and the convolution's filter gradient adds that output's im2col row times dy:
 *   dW[o,c,i,j] += dy[n,o,ph,pw]·x[n,c,oh·s+i-pad, ow·s+j-pad],   db[o] += dy[n,o,ph,pw]
 * for argmax = (n, o, oh, ow). Sums run in float64; dw and db are written whole.
 */
export function convPoolBackwardFilterCpu(cg: ConvGeometry, pg: PoolGeometry, dy: Floats, argmax: Uint32Array, x: Floats, dw: Floats, db: Floats): void {
  checkPair(cg, pg);
  const { channels: C, height: H, width: W, filters: O, kh: KH, kw: KW, stride: S, pad: P, outH: OH, outW: OW } = cg;
  const K = C * KH * KW;
  const sumW = new Float64Array(O * K);
  const sumB = new Float64Array(O);
  const outputs = pg.batch * pg.channels * pg.outH * pg.outW;
  for (let out = 0; out < outputs; out++) {
    const at = argmax[out]!;
    if (at === POOL_NONE) continue;
    // at = ((n·O + o)·OH + oh)·OW + ow
    const ow = at % OW;
    const oh = Math.floor(at / OW) % OH;
    const o = Math.floor(at / (OW * OH)) % O;
    const n = Math.floor(at / (OW * OH * O));
    const d = dy[out]!;
    sumB[o]! += d;
    let k = o * K;
    for (let c = 0; c < C; c++) {
      const image = (n * C + c) * H * W;
      for (let i = 0; i < KH; i++) {
        const ih = oh * S + i - P;
        for (let j = 0; j < KW; j++, k++) {
          const iw = ow * S + j - P;
          if (ih >= 0 && ih < H && iw >= 0 && iw < W) sumW[k]! += d * x[image + ih * W + iw]!;
        }
      }
    }
  }
  dw.set(sumW);
  db.set(sumB);
}
