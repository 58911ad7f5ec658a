// conv: the book's Convolution layer (ch. 7) on NCHW images and OIHW filters, without im2col
// in memory: each kernel reads x or dout at the positions im2col would have copied.
//   y  [N, O, OH, OW] = W [O, C, KH, KW] ⊛ x [N, C, H, W] + b [O]
//   ih = oh·stride + i - pad, iw = ow·stride + j - pad; x is 0 outside the image.
//
// Entry points (the launchers in src/kernels/conv.ts record them; no workgroup memory, no
// barriers, no atomics; every output element is written by exactly one invocation):
//   conv_forward         y. One invocation per 8 filters x 4 neighbouring outputs of one row
//                        (a register block: each x value loaded serves 8 filters, each weight 4
//                        outputs), looping over the taps (c, i, j).
//   conv_filter_partial  dW and db, pass 1 of 2. The reduction runs over every output position
//                        (N·OH·OW = 57,600 for SimpleConvNet) against few outputs (O·C·KH·KW =
//                        750), so it is split: one invocation per 8 filters x 4 taps x chunk of
//                        output rows (n, oh) writes that chunk's partial sums. db is the tap
//                        past the last, whose im2col column is all ones.
//   conv_filter_sum      pass 2: one invocation per (filter, tap) adds its chunks up into dW or db.
//   conv_backward_data   dx, the book's col2im(dout · W) in gather form: one invocation per
//                        8 channels x 4 neighbouring pixels of one row, summing over the filters
//                        o and taps (i, j) whose output (oh, ow) = ((h + pad - i) / stride,
//                        (w + pad - j) / stride) exists (the divisions exact).
// Partial blocks (filters, channels, taps, columns past the end) compute on clamped, in-bounds
// indices and store nothing there. vec4 components are the 4 outputs (taps for the filter
// gradient) of a block; SwiftShader runs each invocation on one SIMD lane, so a vec4 costs it
// what 4 named scalars do. With fewer than 8 channels the data kernel's block is partly idle
// (7/8 of it for one channel): that is a first layer, whose dx the nets never ask for.
// One variant for every adapter: the alternatives tried (below) were no faster on SwiftShader,
// and hardware GPUs get what they want from this one (neighbouring invocations on neighbouring
// pixels and the same weights, no barriers, 1 + 2 + 1 dispatches).
// CPU references: src/kernels/conv.ts (the book's im2col and col2im).
//
// Measured on SwiftShader (Dawn, 2 cores shared with other jobs, load average 4-6), 2026-12-06,
// by `node --import ./tools/register.mjs bench/conv-kernels.ts --reps 11 --shapes
// simple,deep3,deep5`: each dispatch replayed alone, 11 samples interleaved with the others,
// each sample enough calls in one submit for ~40 ms, timed from the CPU clock until the queue
// is done. Median ms per call, the range over three runs (each run's minimum: 0.35-0.9x its median):
//                                                       forward  filter partial  filter sum  data gradient
//   SimpleConvNet      x[100,1,28,28]  W[30,1,5,5]      218-323  111-204         1.7-2.8     844-1437 (*)
//   DeepConvNet conv3  x[100,16,14,14] W[32,16,3,3] p1  259-309  250-336         4.4-5.9     265-362
//   DeepConvNet conv5  x[100,32,8,8]   W[64,32,3,3] p1  300-410  398-467         7.6-18      263-404
//   (*) one channel: never run in training (see above).
// Each SimpleConvNet product is 43.2 M multiply-adds (86 MFLOP), and on this adapter they are
// the floor: with every load taken out of the forward (a scalar 8x4 form of it) it still took
// 60% of its time (~75 ms of CPU); the project's unrolled matmul at the same size (57600x30x25)
// took 100-160 ms in the same hour; the plain-JS CPU reference takes 90-200 ms per product. A
// few ms is out of reach on SwiftShader. Tried and dropped, none faster beyond the noise
// (~1.5x between runs): named scalar accumulators instead of vec4 (generated, as
// matmul_unrolled); forward blocks of 8x8, 10x8, 10x12, 16x4 and 16x8; weights loaded as vec4;
// a filter row's taps unrolled into one loop iteration (2x slower); 16
// filters per filter-gradient block; chunks of 64 or 1024 positions instead of 256. Kept: the
// channel loop innermost (2x faster at 16-32 channels), except for a single channel (1.8x
// slower there, so that case keeps the taps innermost).

struct Params {
  batch: u32, channels: u32, height: u32, width: u32,
  filters: u32, kh: u32, kw: u32, stride: u32,
  pad: u32, outH: u32, outW: u32,
  // conv_filter_partial / conv_filter_sum: output rows (n, oh) per chunk.
  rowsPerChunk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
// conv_filter_partial's partial sums [chunks, O, C·KH·KW + 1], read by conv_filter_sum.
@group(0) @binding(5) var<storage, read> partial: array<f32>;
// y, the partial sums, dW or dx.
@group(0) @binding(6) var<storage, read_write> dst: array<f32>;
@group(0) @binding(7) var<storage, read_write> dbOut: array<f32>;

const WG: u32 = 64u;
const LANES = vec4u(0u, 1u, 2u, 3u);

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  // Past 65535 workgroups the grid folds into a second dimension (grid1d).
  return gid.x + gid.y * nwg.x * WG;
}

/** Stores the first `count` (4 or more: all) components of v at dst[at ..]. */
fn store4(at: u32, v: vec4f, count: u32) {
  // Written out: SwiftShader does not unroll loops (the matmul family's finding).
  dst[at] = v.x;
  if (count > 1u) { dst[at + 1u] = v.y; }
  if (count > 2u) { dst[at + 2u] = v.z; }
  if (count > 3u) { dst[at + 3u] = v.w; }
}

/** x at 4 flat indices, 0 where `inside` is false (the index is then any in-bounds one). */
fn loadX(at: vec4u, inside: vec4<bool>) -> vec4f {
  return select(vec4f(), vec4f(x[at.x], x[at.y], x[at.z], x[at.w]), inside);
}

@compute @workgroup_size(WG)
fn conv_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = flatIndex(gid, nwg);
  let colBlocks = (p.outW + 3u) / 4u;
  let filterBlocks = (p.filters + 7u) / 8u;
  if (t >= colBlocks * p.outH * p.batch * filterBlocks) { return; }
  // Columns fastest, then rows, images, filter blocks: neighbouring invocations read
  // neighbouring pixels and the same weights.
  let ow0 = (t % colBlocks) * 4u;
  var r = t / colBlocks;
  let oh = r % p.outH;
  r /= p.outH;
  let n = r % p.batch;
  let o0 = (r / p.batch) * 8u;

  let taps = p.channels * p.kh * p.kw;
  // Row o of W [O, C·KH·KW] for each filter of the block (past the last filter: the last one).
  let last = p.filters - 1u;
  let w0 = min(o0, last) * taps;
  let w1 = min(o0 + 1u, last) * taps;
  let w2 = min(o0 + 2u, last) * taps;
  let w3 = min(o0 + 3u, last) * taps;
  let w4 = min(o0 + 4u, last) * taps;
  let w5 = min(o0 + 5u, last) * taps;
  let w6 = min(o0 + 6u, last) * taps;
  let w7 = min(o0 + 7u, last) * taps;
  // iw of the 4 outputs at filter column j = 0; negative in the left padding.
  let iw0 = vec4i((ow0 + LANES) * p.stride) - i32(p.pad);
  var y0 = vec4f();
  var y1 = vec4f();
  var y2 = vec4f();
  var y3 = vec4f();
  var y4 = vec4f();
  var y5 = vec4f();
  var y6 = vec4f();
  var y7 = vec4f();
  let kk = p.kh * p.kw;
  let imagePlane = p.height * p.width;
  let image = n * p.channels * imagePlane;
  // Two orders of the same loops. SwiftShader pays per iteration of an inner loop, so the
  // longest loop goes inside: the channels, with each tap's bounds worked out once above them
  // (DeepConvNet's 32-channel 8x8 layer: 2x faster than channels outermost); but with a single
  // channel (a first layer) that loop would run once per tap (SimpleConvNet: 1.8x slower).
  if (p.channels == 1u) {
    for (var i = 0u; i < p.kh; i++) {
      let ih = i32(oh * p.stride + i) - i32(p.pad);
      // A padding row adds nothing.
      if (ih < 0 || ih >= i32(p.height)) { continue; }
      let xRow = image + u32(ih) * p.width;
      for (var j = 0u; j < p.kw; j++) {
        // Negative columns wrap to huge unsigned ones: one comparison tests both sides.
        let iw = vec4u(iw0 + i32(j));
        let xs = loadX(xRow + min(iw, vec4u(p.width - 1u)), iw < vec4u(p.width));
        let k = i * p.kw + j;
        y0 += w[w0 + k] * xs;
        y1 += w[w1 + k] * xs;
        y2 += w[w2 + k] * xs;
        y3 += w[w3 + k] * xs;
        y4 += w[w4 + k] * xs;
        y5 += w[w5 + k] * xs;
        y6 += w[w6 + k] * xs;
        y7 += w[w7 + k] * xs;
      }
    }
  } else {
    for (var i = 0u; i < p.kh; i++) {
      let ih = i32(oh * p.stride + i) - i32(p.pad);
      if (ih < 0 || ih >= i32(p.height)) { continue; }
      let xRow = image + u32(ih) * p.width;
      for (var j = 0u; j < p.kw; j++) {
        let iw = vec4u(iw0 + i32(j));
        let inside = iw < vec4u(p.width);
        let xAt = xRow + min(iw, vec4u(p.width - 1u));
        let tap = i * p.kw + j;
        for (var c = 0u; c < p.channels; c++) {
          let xs = loadX(xAt + c * imagePlane, inside);
          let k = tap + c * kk;
          y0 += w[w0 + k] * xs;
          y1 += w[w1 + k] * xs;
          y2 += w[w2 + k] * xs;
          y3 += w[w3 + k] * xs;
          y4 += w[w4 + k] * xs;
          y5 += w[w5 + k] * xs;
          y6 += w[w6 + k] * xs;
          y7 += w[w7 + k] * xs;
        }
      }
    }
  }
  let plane = p.outH * p.outW;
  let at = (n * p.filters + o0) * plane + oh * p.outW + ow0;
  let count = p.outW - ow0;
  let filters = p.filters - o0;
  store4(at, y0 + b[o0], count);
  if (filters > 1u) { store4(at + plane, y1 + b[o0 + 1u], count); }
  if (filters > 2u) { store4(at + 2u * plane, y2 + b[o0 + 2u], count); }
  if (filters > 3u) { store4(at + 3u * plane, y3 + b[o0 + 3u], count); }
  if (filters > 4u) { store4(at + 4u * plane, y4 + b[o0 + 4u], count); }
  if (filters > 5u) { store4(at + 5u * plane, y5 + b[o0 + 5u], count); }
  if (filters > 6u) { store4(at + 6u * plane, y6 + b[o0 + 6u], count); }
  if (filters > 7u) { store4(at + 7u * plane, y7 + b[o0 + 7u], count); }
}

@compute @workgroup_size(WG)
fn conv_filter_partial(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = flatIndex(gid, nwg);
  let kk = p.kh * p.kw;
  let taps = p.channels * kk;
  // Columns of the book's im2col matrix, plus one of ones for db.
  let cols = taps + 1u;
  let tapBlocks = (cols + 3u) / 4u;
  let filterBlocks = (p.filters + 7u) / 8u;
  let rows = p.batch * p.outH;
  let chunks = (rows + p.rowsPerChunk - 1u) / p.rowsPerChunk;
  if (t >= tapBlocks * filterBlocks * chunks) { return; }
  let k0 = (t % tapBlocks) * 4u;
  let r = t / tapBlocks;
  let o0 = (r % filterBlocks) * 8u;
  let chunk = r / filterBlocks;

  // The block's 4 taps k = (c·KH + i)·KW + j: their (i, j) and offset within an image.
  let k = k0 + LANES;
  let kc = min(k, vec4u(taps - 1u));
  let ki = vec4i((kc % kk) / p.kw);
  let kj = vec4i(kc % p.kw);
  let kOffset = vec4i((kc / kk) * p.height * p.width) + ki * i32(p.width) + kj;
  let isTap = k < vec4u(taps);
  let isOnes = k == vec4u(taps);
  // dout's plane [OH, OW] of each filter of the block, within an image's planes.
  let plane = p.outH * p.outW;
  let last = p.filters - 1u;
  let d0 = min(o0, last) * plane;
  let d1 = min(o0 + 1u, last) * plane;
  let d2 = min(o0 + 2u, last) * plane;
  let d3 = min(o0 + 3u, last) * plane;
  let d4 = min(o0 + 4u, last) * plane;
  let d5 = min(o0 + 5u, last) * plane;
  let d6 = min(o0 + 6u, last) * plane;
  let d7 = min(o0 + 7u, last) * plane;
  var g0 = vec4f();
  var g1 = vec4f();
  var g2 = vec4f();
  var g3 = vec4f();
  var g4 = vec4f();
  var g5 = vec4f();
  var g6 = vec4f();
  var g7 = vec4f();
  let end = min(rows, (chunk + 1u) * p.rowsPerChunk);
  for (var row = chunk * p.rowsPerChunk; row < end; row++) {
    let n = row / p.outH;
    let oh = row % p.outH;
    let top = i32(oh * p.stride) - i32(p.pad);
    let rowInside = (vec4u(top + ki) < vec4u(p.height)) & isTap;
    let rowStart = i32(n * p.channels * p.height * p.width) + top * i32(p.width) - i32(p.pad) + kOffset;
    let doutRow = n * p.filters * plane + oh * p.outW;
    for (var ow = 0u; ow < p.outW; ow++) {
      let left = i32(ow * p.stride);
      let inside = rowInside & (vec4u(left - i32(p.pad) + kj) < vec4u(p.width));
      let at = vec4u(select(vec4i(), rowStart + left, inside));
      let xs = select(loadX(at, inside), vec4f(1.0), isOnes);
      let d = doutRow + ow;
      g0 += dout[d + d0] * xs;
      g1 += dout[d + d1] * xs;
      g2 += dout[d + d2] * xs;
      g3 += dout[d + d3] * xs;
      g4 += dout[d + d4] * xs;
      g5 += dout[d + d5] * xs;
      g6 += dout[d + d6] * xs;
      g7 += dout[d + d7] * xs;
    }
  }
  // partial[chunk, o, k]
  let at = (chunk * p.filters + o0) * cols + k0;
  let count = cols - k0;
  let filters = p.filters - o0;
  store4(at, g0, count);
  if (filters > 1u) { store4(at + cols, g1, count); }
  if (filters > 2u) { store4(at + 2u * cols, g2, count); }
  if (filters > 3u) { store4(at + 3u * cols, g3, count); }
  if (filters > 4u) { store4(at + 4u * cols, g4, count); }
  if (filters > 5u) { store4(at + 5u * cols, g5, count); }
  if (filters > 6u) { store4(at + 6u * cols, g6, count); }
  if (filters > 7u) { store4(at + 7u * cols, g7, count); }
}

@compute @workgroup_size(WG)
fn conv_filter_sum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = flatIndex(gid, nwg);
  let taps = p.channels * p.kh * p.kw;
  let cols = taps + 1u;
  let perChunk = p.filters * cols;
  if (t >= perChunk) { return; }
  let chunks = (p.batch * p.outH + p.rowsPerChunk - 1u) / p.rowsPerChunk;
  var sum = 0.0;
  for (var chunk = 0u; chunk < chunks; chunk++) { sum += partial[chunk * perChunk + t]; }
  let o = t / cols;
  let k = t % cols;
  if (k == taps) {
    dbOut[o] = sum;
  } else {
    dst[o * taps + k] = sum;
  }
}

@compute @workgroup_size(WG)
fn conv_backward_data(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = flatIndex(gid, nwg);
  let colBlocks = (p.width + 3u) / 4u;
  let channelBlocks = (p.channels + 7u) / 8u;
  if (t >= colBlocks * p.height * p.batch * channelBlocks) { return; }
  let w0 = (t % colBlocks) * 4u;
  var r = t / colBlocks;
  let h = r % p.height;
  r /= p.height;
  let n = r % p.batch;
  let c0 = (r / p.batch) * 8u;

  let kk = p.kh * p.kw;
  let taps = p.channels * kk;
  // Offset of channel c's taps within a filter, for each channel of the block.
  let last = p.channels - 1u;
  let c_0 = min(c0, last) * kk;
  let c_1 = min(c0 + 1u, last) * kk;
  let c_2 = min(c0 + 2u, last) * kk;
  let c_3 = min(c0 + 3u, last) * kk;
  let c_4 = min(c0 + 4u, last) * kk;
  let c_5 = min(c0 + 5u, last) * kk;
  let c_6 = min(c0 + 6u, last) * kk;
  let c_7 = min(c0 + 7u, last) * kk;
  // ow·stride of the 4 pixels at filter column j = 0.
  let owStride0 = vec4i(w0 + LANES + p.pad);
  let plane = p.outH * p.outW;
  var g0 = vec4f();
  var g1 = vec4f();
  var g2 = vec4f();
  var g3 = vec4f();
  var g4 = vec4f();
  var g5 = vec4f();
  var g6 = vec4f();
  var g7 = vec4f();
  for (var i = 0u; i < p.kh; i++) {
    let ohStride = i32(h + p.pad) - i32(i);
    // i only grows, so no later i reaches an output row either.
    if (ohStride < 0) { break; }
    let oh = u32(ohStride) / p.stride;
    if (oh * p.stride != u32(ohStride) || oh >= p.outH) { continue; }
    for (var j = 0u; j < p.kw; j++) {
      let owStride = owStride0 - i32(j);
      let ow = vec4u(owStride) / p.stride;
      let hit = (owStride >= vec4i()) & (ow * p.stride == vec4u(owStride)) & (ow < vec4u(p.outW));
      let at = oh * p.outW + min(ow, vec4u(p.outW - 1u));
      let tap = i * p.kw + j;
      for (var o = 0u; o < p.filters; o++) {
        let d = (n * p.filters + o) * plane + at;
        let ds = select(vec4f(), vec4f(dout[d.x], dout[d.y], dout[d.z], dout[d.w]), hit);
        let wo = o * taps + tap;
        g0 += w[wo + c_0] * ds;
        g1 += w[wo + c_1] * ds;
        g2 += w[wo + c_2] * ds;
        g3 += w[wo + c_3] * ds;
        g4 += w[wo + c_4] * ds;
        g5 += w[wo + c_5] * ds;
        g6 += w[wo + c_6] * ds;
        g7 += w[wo + c_7] * ds;
      }
    }
  }
  let imagePlane = p.height * p.width;
  let at = (n * p.channels + c0) * imagePlane + h * p.width + w0;
  let count = p.width - w0;
  let channels = p.channels - c0;
  store4(at, g0, count);
  if (channels > 1u) { store4(at + imagePlane, g1, count); }
  if (channels > 2u) { store4(at + 2u * imagePlane, g2, count); }
  if (channels > 3u) { store4(at + 3u * imagePlane, g3, count); }
  if (channels > 4u) { store4(at + 4u * imagePlane, g4, count); }
  if (channels > 5u) { store4(at + 5u * imagePlane, g5, count); }
  if (channels > 6u) { store4(at + 6u * imagePlane, g6, count); }
  if (channels > 7u) { store4(at + 7u * imagePlane, g7, count); }
}
