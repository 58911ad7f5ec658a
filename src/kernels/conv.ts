import block from '../../shaders/conv-block.wgsl?raw';
import convCode from '../../shaders/conv.wgsl?raw';
import type { ConvGeometry } from '../backend/geometry.js';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import { GpuTensor } from '../tensor/gpu-tensor.js';
import { dims, grid1d } from './grid.js';

type Floats = Float32Array | Float64Array;
/** The entry points of shaders/conv.wgsl. */
export type ConvEntry = 'conv_row_spans' | 'conv_forward' | 'conv_filter_partial' | 'conv_filter_sum' | 'conv_backward_data';

/** Must match WG in shaders/conv.wgsl. */
const WG = 64;
/** Register blocks of shaders/conv.wgsl: 8 filters (channels for dx) x 4 outputs (taps for dW). */
const BLOCK_ROWS = 8;
const BLOCK_COLS = 4;
/**
 * Output positions (n, oh, ow) per chunk of the filter gradient's split reduction, roughly: a
 * chunk is whole output rows. SimpleConvNet's 57,600 positions make 219 chunks of 11 rows, so
 * pass 1 runs 6,132 invocations and pass 2 adds 219 partial sums per weight.
 */
export const CONV_CHUNK_POSITIONS = 256;

/** shaders/conv.wgsl with the register block it shares with the fused forwards in front. */
const code = `${block}\n${convCode}`;

/** Variants of an entry point: override constants of shaders/conv-block.wgsl. */
export interface ConvVariant {
  /** SKIP_ZEROS: skip x's empty parts, given conv_row_spans's spans (a data batch on a software adapter). */
  skipZeros?: boolean;
  /** ONE_CHANNEL: the forward's loop order for x of one channel (taps innermost); the launchers set it where C = 1. */
  oneChannel?: boolean;
}

/** The override constants of a variant, or undefined for the default one. */
export function variantConstants({ skipZeros = false, oneChannel = false }: ConvVariant): Record<string, boolean> | undefined {
  const constants: Record<string, boolean> = {};
  if (skipZeros) constants.SKIP_ZEROS = true;
  if (oneChannel) constants.ONE_CHANNEL = true;
  return Object.keys(constants).length ? constants : undefined;
}

/** The pipeline of one entry point of shaders/conv.wgsl, in a variant (conv_forward: both; conv_filter_partial: skipZeros). */
export function convKernel(entryPoint: ConvEntry, variant: ConvVariant = {}): KernelSpec {
  const constants = variantConstants(variant);
  return constants ? { family: 'conv', code, entryPoint, constants } : { family: 'conv', code, entryPoint };
}

/**
 * Every pipeline a training step's convolutions use, for compiling up front (the forward for
 * one channel and for several); with `skipZeroRows`, also the ones a data batch's layer takes
 * on a software adapter.
 */
export function convKernels(skipZeroRows = false): KernelSpec[] {
  const forwards = (skipZeros: boolean) => [false, true].map((oneChannel) => convKernel('conv_forward', { skipZeros, oneChannel }));
  const dense = [...forwards(false), ...(['conv_filter_partial', 'conv_filter_sum', 'conv_backward_data'] as const).map((e) => convKernel(e))];
  return skipZeroRows ? [...dense, convKernel('conv_row_spans'), ...forwards(true), convKernel('conv_filter_partial', { skipZeros: true })] : dense;
}

/**
 * Records conv_row_spans: per input row (n, h), the first and last columns where any channel
 * of x is nonzero, into a pooled u32 tensor [N·H, 2] the caller owns. The forward and the filter
 * gradient of the same data batch read the same spans: compute them once per batch.
 */
export function convRowSpansGpu(ctx: GpuContext, g: ConvGeometry, x: GpuTensor): GpuTensor {
  const spans = GpuTensor.empty(ctx, [Math.max(g.batch * g.height, 1), 2], 'u32');
  ctx.dispatch({
    kernel: convKernel('conv_row_spans'),
    params: params(g),
    buffers: [x.buffer, undefined, undefined, undefined, undefined, undefined, undefined, undefined, spans.buffer],
    workgroups: grid1d(g.batch * g.height, WG),
    shapes: `x[${g.batch},${g.channels},${g.height},${g.width}] → nonzero column spans [${g.batch * g.height},2]`,
  });
  return spans;
}

/** Output rows (n, oh) per chunk of the filter gradient's reduction. */
export function convRowsPerChunk(g: ConvGeometry): number {
  return Math.max(1, Math.round(CONV_CHUNK_POSITIONS / g.outW));
}

/** The uniform Params of shaders/conv.wgsl. */
function params(g: ConvGeometry, rowsPerChunk = 1): number[] {
  return [g.batch, g.channels, g.height, g.width, g.filters, g.kh, g.kw, g.stride, g.pad, g.outH, g.outW, rowsPerChunk];
}

const blocks = (n: number, size: number) => Math.ceil(n / size);

function convNote(g: ConvGeometry): string {
  const args = g.stride !== 1 || g.pad !== 0 ? ` (stride ${g.stride}, pad ${g.pad})` : '';
  return `x[${g.batch},${g.channels},${g.height},${g.width}] ⊛ W[${g.filters},${g.channels},${g.kh},${g.kw}]${args}`;
}

/**
 * Records y = W ⊛ x + b: y[n,o,oh,ow] = b[o] + Σ_{c,i,j} W[o,c,i,j]·x[n,c,oh·s+i-pad, ow·s+j-pad].
 * Given x's row `spans` (convRowSpansGpu: x a data batch, on a software adapter) the forward
 * visits only the taps that reach each row's nonzero columns: the same sums minus exact zeros
 * of x (different only where such a zero meets an infinite or NaN weight).
 */
export function convForwardGpu(ctx: GpuContext, g: ConvGeometry, x: GpuTensor, w: GpuTensor, b: GpuTensor, y: GpuTensor, spans?: GpuTensor): void {
  const invocations = blocks(g.outW, BLOCK_COLS) * g.outH * g.batch * blocks(g.filters, BLOCK_ROWS);
  ctx.dispatch({
    kernel: convKernel('conv_forward', { skipZeros: !!spans, oneChannel: g.channels === 1 }),
    params: params(g),
    buffers: [x.buffer, w.buffer, b.buffer, undefined, undefined, y.buffer, undefined, spans?.buffer ?? ctx.placeholder],
    workgroups: grid1d(invocations, WG),
    shapes: `${convNote(g)} + b[${g.filters}] → y${dims(y.shape)}${spans ? ' (skipping empty columns)' : ''}`,
  });
}

/**
 * Records dW[o,c,i,j] = Σ_{n,oh,ow} dout[n,o,oh,ow]·x[n,c,oh·s+i-pad, ow·s+j-pad] and
 * db[o] = Σ dout[n,o,:,:], in two dispatches: partial sums over chunks of output rows into a
 * pooled scratch tensor, then their sum. The scratch goes back to the pool once recorded; the
 * pool hands it out again only after the submit.
 * Given x's row `spans` (convRowSpansGpu: x a data batch, on a software adapter) the partial
 * sums visit only the positions whose x is inside them: the same terms minus exact zeros of x
 * (different only where such a zero meets an infinite or NaN dout).
 */
export function convBackwardFilterGpu(ctx: GpuContext, g: ConvGeometry, dout: GpuTensor, x: GpuTensor, dw: GpuTensor, db: GpuTensor, spans?: GpuTensor): void {
  const rowsPerChunk = convRowsPerChunk(g);
  const chunks = blocks(g.batch * g.outH, rowsPerChunk);
  const cols = g.channels * g.kh * g.kw + 1;
  const partial = GpuTensor.empty(ctx, [Math.max(chunks, 1), g.filters, cols]);
  const p = params(g, rowsPerChunk);
  const what = `${convNote(g)}, dout${dims(dout.shape)}`;
  ctx.dispatch({
    kernel: convKernel('conv_filter_partial', { skipZeros: !!spans }),
    params: p,
    buffers: [x.buffer, undefined, undefined, dout.buffer, undefined, partial.buffer, undefined, spans?.buffer ?? ctx.placeholder],
    workgroups: grid1d(blocks(cols, BLOCK_COLS) * blocks(g.filters, BLOCK_ROWS) * chunks, WG),
    shapes: `${what} → partial dW|db [${chunks},${g.filters},${cols}]`,
  });
  convFilterSumGpu(ctx, g, g.outH, rowsPerChunk, partial, dw, db);
  partial.dispose();
}

/**
 * Records pass 2 of a split filter gradient (conv_filter_sum): dW and db from the partial sums
 * [chunks, O, C·KH·KW + 1] of `rowsPerImage` rows per image (the output's OH here; the pooled
 * output's for the fused layer's) in chunks of `rowsPerChunk` rows.
 */
export function convFilterSumGpu(ctx: GpuContext, g: ConvGeometry, rowsPerImage: number, rowsPerChunk: number, partial: GpuTensor, dw: GpuTensor, db: GpuTensor): void {
  const chunks = blocks(g.batch * rowsPerImage, rowsPerChunk);
  const cols = g.channels * g.kh * g.kw + 1;
  ctx.dispatch({
    kernel: convKernel('conv_filter_sum'),
    // The sum pass reads outH only to count the chunks.
    params: params({ ...g, outH: rowsPerImage }, rowsPerChunk),
    buffers: [undefined, undefined, undefined, undefined, partial.buffer, dw.buffer, db.buffer],
    workgroups: grid1d(g.filters * cols, WG),
    shapes: `partial [${chunks},${g.filters},${cols}] → dW${dims(dw.shape)}, db[${g.filters}]`,
  });
}

/**
 * Records dx[n,c,h,w] = Σ dout[n,o,oh,ow]·W[o,c,i,j] over (o, i, j) with oh·s + i - pad = h and
 * ow·s + j - pad = w: the book's col2im(dout·W), gathered per pixel.
 */
export function convBackwardDataGpu(ctx: GpuContext, g: ConvGeometry, dout: GpuTensor, w: GpuTensor, dx: GpuTensor): void {
  const invocations = blocks(g.width, BLOCK_COLS) * g.height * g.batch * blocks(g.channels, BLOCK_ROWS);
  ctx.dispatch({
    kernel: convKernel('conv_backward_data'),
    params: params(g),
    buffers: [undefined, w.buffer, undefined, dout.buffer, undefined, dx.buffer],
    workgroups: grid1d(invocations, WG),
    shapes: `dout${dims(dout.shape)} ⊛ᵀ W[${g.filters},${g.channels},${g.kh},${g.kw}] → dx${dims(dx.shape)}`,
  });
}

// ---------------------------------------------------------------------------------------------
// CPU references: the book's Convolution class (common/layers.py) with its im2col and col2im
// (common/util.py), in plain loops. They are the CPU backend too. Sums run in float64 whatever
// the storage; the col matrices take the storage's type (im2col only copies values).

/**
 * The book's im2col: col [N·OH·OW, C·KH·KW], one row per output position (n, oh, ow), one
 * column per filter tap (c, i, j), holding x[n, c, oh·stride + i - pad, ow·stride + j - pad]
 * (0 in the padding).
 */
export function im2colCpu(g: ConvGeometry, x: Floats, col: Floats): void {
  const { batch: N, channels: C, height: H, width: W, kh: KH, kw: KW, stride: S, pad: P, outH: OH, outW: OW } = g;
  let k = 0;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let c = 0; c < C; c++) {
          const plane = (n * C + c) * H * W;
          for (let i = 0; i < KH; i++) {
            const ih = oh * S + i - P;
            const rowInside = ih >= 0 && ih < H;
            for (let j = 0; j < KW; j++) {
              const iw = ow * S + j - P;
              col[k++] = rowInside && iw >= 0 && iw < W ? x[plane + ih * W + iw]! : 0;
            }
          }
        }
      }
    }
  }
}

/**
 * The book's col2im, the adjoint of im2col: dx [N, C, H, W] = the sum of col's entries over
 * every (output position, tap) that im2col read that pixel into; the padding's share is
 * dropped. Writes every element of dx.
 */
export function col2imCpu(g: ConvGeometry, col: Floats, dx: Floats): void {
  const { batch: N, channels: C, height: H, width: W, kh: KH, kw: KW, stride: S, pad: P, outH: OH, outW: OW } = g;
  const sum = new Float64Array(N * C * H * W);
  let k = 0;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let c = 0; c < C; c++) {
          const plane = (n * C + c) * H * W;
          for (let i = 0; i < KH; i++) {
            const ih = oh * S + i - P;
            const rowInside = ih >= 0 && ih < H;
            for (let j = 0; j < KW; j++, k++) {
              const iw = ow * S + j - P;
              if (rowInside && iw >= 0 && iw < W) sum[plane + ih * W + iw]! += col[k]!;
            }
          }
        }
      }
    }
  }
  dx.set(sum);
}

/** A col matrix of `rows` x `cols` in the storage type of `like`. */
function colLike(like: Floats, rows: number, cols: number): Floats {
  return like instanceof Float32Array ? new Float32Array(rows * cols) : new Float64Array(rows * cols);
}

/**
 * CPU reference of Convolution.forward:
 *   col = im2col(x, FH, FW, stride, pad)          # [N·OH·OW, C·KH·KW]
 *   out = np.dot(col, W.reshape(FN, -1).T) + b    # [N·OH·OW, FN]
 *   out.reshape(N, OH, OW, FN).transpose(0, 3, 1, 2)
 * The transpose is the index y is written at: y[n, o, oh, ow] = out[(n, oh, ow), o].
 */
export function convForwardCpu(g: ConvGeometry, x: Floats, w: Floats, b: Floats, y: Floats): void {
  const { batch: N, filters: O, outH: OH, outW: OW } = g;
  const K = g.channels * g.kh * g.kw;
  const col = colLike(x, N * OH * OW, K);
  im2colCpu(g, x, col);
  // col_W = W.reshape(FN, -1).T: row o of W [O, K] is column o of col_W, so each output is a
  // dot product of two contiguous rows.
  let row = 0;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++, row++) {
        const c0 = row * K;
        for (let o = 0; o < O; o++) {
          const w0 = o * K;
          let s = b[o]!;
          for (let k = 0; k < K; k++) s += col[c0 + k]! * w[w0 + k]!;
          y[((n * O + o) * OH + oh) * OW + ow] = s;
        }
      }
    }
  }
}

/**
 * CPU reference of the weight half of Convolution.backward:
 *   dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)   # [N·OH·OW, FN]
 *   db = np.sum(dout, axis=0)
 *   dW = np.dot(col.T, dout).transpose(1, 0).reshape(FN, C, FH, FW)
 * with col = im2col(x) as in forward (the book keeps it from forward; this recomputes it).
 */
export function convBackwardFilterCpu(g: ConvGeometry, dout: Floats, x: Floats, dw: Floats, db: Floats): void {
  const { batch: N, filters: O, outH: OH, outW: OW } = g;
  const K = g.channels * g.kh * g.kw;
  const col = colLike(x, N * OH * OW, K);
  im2colCpu(g, x, col);
  const sumW = new Float64Array(O * K);
  const sumB = new Float64Array(O);
  let row = 0;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++, row++) {
        const c0 = row * K;
        for (let o = 0; o < O; o++) {
          // dout[(n, oh, ow), o] times row (n, oh, ow) of col, into row o of dW [O, K]. A ReLU
          // before the next layer zeroes about half of dout: its zeros are skipped.
          const d = dout[((n * O + o) * OH + oh) * OW + ow]!;
          if (d === 0) continue;
          sumB[o]! += d;
          const w0 = o * K;
          for (let k = 0; k < K; k++) sumW[w0 + k]! += d * col[c0 + k]!;
        }
      }
    }
  }
  dw.set(sumW);
  db.set(sumB);
}

/**
 * CPU reference of the input half of Convolution.backward:
 *   dcol = np.dot(dout, col_W.T)                        # [N·OH·OW, C·KH·KW]
 *   dx = col2im(dcol, x.shape, FH, FW, stride, pad)
 */
export function convBackwardDataCpu(g: ConvGeometry, dout: Floats, w: Floats, dx: Floats): void {
  const { batch: N, filters: O, outH: OH, outW: OW } = g;
  const K = g.channels * g.kh * g.kw;
  const dcol = colLike(dout, N * OH * OW, K);
  // One row of dcol at a time, summed in float64 and stored once.
  const sum = new Float64Array(K);
  let row = 0;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++, row++) {
        sum.fill(0);
        for (let o = 0; o < O; o++) {
          // dout[(n, oh, ow), o] times row o of col_W.T = W [O, K] (zeros of dout skipped).
          const d = dout[((n * O + o) * OH + oh) * OW + ow]!;
          if (d === 0) continue;
          const w0 = o * K;
          for (let k = 0; k < K; k++) sum[k]! += d * w[w0 + k]!;
        }
        dcol.set(sum, row * K);
      }
    }
  }
  col2imCpu(g, dcol, dx);
}
