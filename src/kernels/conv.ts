// Work in progress: GPU launchers below.
import type { ConvGeometry } from '../backend/geometry.js';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import type { GpuTensor } from '../tensor/gpu-tensor.js';

type Floats = Float32Array | Float64Array;
const todo = (): never => {
  throw new Error('conv kernels not written yet');
};

export function convKernels(): KernelSpec[] {
  return [];
}
export function convForwardGpu(_ctx: GpuContext, _g: ConvGeometry, _x: GpuTensor, _w: GpuTensor, _b: GpuTensor, _y: GpuTensor): void {
  todo();
}
export function convBackwardFilterGpu(_ctx: GpuContext, _g: ConvGeometry, _dout: GpuTensor, _x: GpuTensor, _dw: GpuTensor, _db: GpuTensor): void {
  todo();
}
export function convBackwardDataGpu(_ctx: GpuContext, _g: ConvGeometry, _dout: GpuTensor, _w: GpuTensor, _dx: GpuTensor): void {
  todo();
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
          // dout[(n, oh, ow), o] times row (n, oh, ow) of col, into row o of dW [O, K].
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
  const dcol = new Float64Array(N * OH * OW * K);
  let row = 0;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++, row++) {
        const c0 = row * K;
        for (let o = 0; o < O; o++) {
          const d = dout[((n * O + o) * OH + oh) * OW + ow]!;
          if (d === 0) continue;
          const w0 = o * K;
          for (let k = 0; k < K; k++) dcol[c0 + k]! += d * w[w0 + k]!;
        }
      }
    }
  }
  col2imCpu(g, dcol, dx);
}
