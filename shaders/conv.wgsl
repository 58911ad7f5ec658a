// conv: the book's Convolution layer (ch. 7) on NCHW images and OIHW filters, without im2col
// in memory: each kernel reads x or dout at the positions im2col would have copied.
//   y  [N, O, OH, OW] = W [O, C, KH, KW] ⊛ x [N, C, H, W] + b [O]
//   ih = oh·stride + i - pad, iw = ow·stride + j - pad; x is 0 outside the image.
//
// conv_forward's register block (convBlock), loadX, tapColumns and the overrides SKIP_ZEROS and
// ONE_CHANNEL are in shaders/conv-block.wgsl, which the launcher puts in front of this source.
// Moving it there (a call, and the one-channel loop order from the override instead of a branch
// on p.channels) was timed against the inline form, both pipelines in one process, 10 rounds
// interleaved, two runs at load ~1.2 (2026-12-06 13:02): SimpleConvNet's shape 1.25x and 1.17x
// faster, DeepConvNet conv3 0.96x and 1.06x (noise).
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
//   conv_row_spans       with SKIP_ZEROS only: one invocation per input row (n, h) writes the
//                        first and last columns where any channel of x is nonzero ((W, 0) for an
//                        empty row) into a pooled scratch that the launchers free once recorded.
// SKIP_ZEROS (an override; the launchers' skipZeroRows, which the GpuBackend sets for a data
// batch, ConvArgs.data, on an adapter that takes sparse paths): conv_forward runs, per tap row
// i, only the filter columns j whose input columns meet that row's nonzero span (none for an
// empty row); conv_filter_partial runs, per output row (n, oh), only the ow whose input column
// lies in some lane's span (db's lane, a column of ones, takes all). Both then put the filter
// blocks fastest among neighbouring invocations: SwiftShader runs 4 neighbours as the lanes of
// one SIMD group, which loops as long as its longest lane, and lanes on the same pixels and
// taps skip alike (with the dense order the filter gradient gained nothing: lanes on different
// taps, one of them db's, took the union of their ranges). The sums are the dense ones minus
// exact zeros of x (NaN counts as nonzero). Off, the dense kernels are unchanged (hardware).
// Measured on a real MNIST batch (80.9% zeros), SimpleConvNet's first layer, interleaved with
// the dense kernels (bench/conv-kernels.ts --shapes simple --mnist --steps K), 2026-12-06,
// SwiftShader on 2 cores under load average 5.5-6.7 (a training run beside it), median of the
// rounds' dense/skipping ratios over four runs (15, 15, 11 and 3 rounds): forward (spans +
// forward) 1.54x, 1.42x, 1.04x, 1.29x; filter gradient (whole op) 1.22x, 1.61x, 2.02x, 1.34x
// (minimums: forward ~190 → ~135 ms, filter partial ~115 → ~70 ms); the range of single
// rounds' ratios is 0.4-3x, so ~1.3x and ~1.5x are the fair summary. SimpleConvNet's whole training step (batch 100, SGD, a GpuBackend
// with sparseInputs off against the default), median ratio over runs of 11, 11 and 25 samples:
// 1.46x, 1.14x, 1.15x (the first layer's two products are about half of the step; the rest is unchanged).
// Partial blocks (filters, channels, taps, columns past the end) compute on clamped, in-bounds
// indices and store nothing there. vec4 components are the 4 outputs (taps for the filter
// gradient) of a block; SwiftShader runs each invocation on one SIMD lane, so a vec4 costs it
// what 4 named scalars do. With fewer than 8 channels the data kernel's block is partly idle
// (7/8 of it for one channel): that is a first layer, whose dx the nets never ask for.
// One dense variant for every adapter (SKIP_ZEROS above is for data batches): the alternatives
// tried (below) were no faster on SwiftShader, and hardware GPUs get what they want from this one (neighbouring invocations on neighbouring
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
// With SKIP_ZEROS: conv_row_spans's result, read by conv_forward and conv_filter_partial.
@group(0) @binding(8) var<storage, read> spans: array<vec2u>;
// conv_row_spans's output: per input row (n, h), the first and last columns w where any channel
// of x[n, ·, h, w] is nonzero, or (W, 0) (first > last) for a row of zeros.
@group(0) @binding(9) var<storage, read_write> spansOut: array<vec2u>;


const WG: u32 = 64u;

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

@compute @workgroup_size(WG)
fn conv_row_spans(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = flatIndex(gid, nwg);
  if (t >= p.batch * p.height) { return; }
  let n = t / p.height;
  let h = t % p.height;
  var first = p.width;
  var last = 0u;
  for (var c = 0u; c < p.channels; c++) {
    let row = ((n * p.channels + c) * p.height + h) * p.width;
    for (var w = 0u; w < p.width; w++) {
      // NaN counts as nonzero: only exact zeros are skipped.
      if (!(x[row + w] == 0.0)) {
        first = min(first, w);
        last = max(last, w);
      }
    }
  }
  spansOut[t] = vec2u(first, last);
}

@compute @workgroup_size(WG)
fn conv_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = flatIndex(gid, nwg);
  let colBlocks = (p.outW + 3u) / 4u;
  let filterBlocks = (p.filters + 7u) / 8u;
  if (t >= colBlocks * p.outH * p.batch * filterBlocks) { return; }
  // Columns fastest, then rows, images, filter blocks: neighbouring invocations read
  // neighbouring pixels and the same weights.
  // With SKIP_ZEROS the filter blocks go fastest instead: SwiftShader runs neighbouring
  // invocations as the lanes of one SIMD group, which loops as long as its longest lane, and
  // lanes on the same pixels skip the same taps.
  var ob = t / (colBlocks * p.outH * p.batch);
  var r = t % (colBlocks * p.outH * p.batch);
  if (SKIP_ZEROS) {
    ob = t % filterBlocks;
    r = t / filterBlocks;
  }
  let ow0 = (r % colBlocks) * 4u;
  r /= colBlocks;
  let oh = r % p.outH;
  let n = r / p.outH;
  let o0 = ob * 8u;

  // iw of the 4 outputs at filter column j = 0; negative in the left padding.
  let iw0 = vec4i((ow0 + LANES) * p.stride) - i32(p.pad);
  let y = convBlock(n, o0, i32(oh * p.stride) - i32(p.pad), iw0);
  let plane = p.outH * p.outW;
  let at = (n * p.filters + o0) * plane + oh * p.outW + ow0;
  let count = p.outW - ow0;
  let filters = p.filters - o0;
  store4(at, y.y0, count);
  if (filters > 1u) { store4(at + plane, y.y1, count); }
  if (filters > 2u) { store4(at + 2u * plane, y.y2, count); }
  if (filters > 3u) { store4(at + 3u * plane, y.y3, count); }
  if (filters > 4u) { store4(at + 4u * plane, y.y4, count); }
  if (filters > 5u) { store4(at + 5u * plane, y.y5, count); }
  if (filters > 6u) { store4(at + 6u * plane, y.y6, count); }
  if (filters > 7u) { store4(at + 7u * plane, y.y7, count); }
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
  var k0 = (t % tapBlocks) * 4u;
  var o0 = ((t / tapBlocks) % filterBlocks) * 8u;
  if (SKIP_ZEROS) {
    // Filter blocks fastest: lanes of one SIMD group then share taps and rows, so their
    // loops skip alike (see conv_forward).
    o0 = (t % filterBlocks) * 8u;
    k0 = ((t / filterBlocks) % tapBlocks) * 4u;
  }
  let chunk = t / (tapBlocks * filterBlocks);

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
    var owEnd = p.outW;
    var owStart = 0u;
    if (SKIP_ZEROS) {
      // Lane l's term at ow is nonzero only where its column ow·stride - pad + kj[l] lies in
      // its input row's span [first, last]: ow in [ceil((first + pad - kj) / stride),
      // floor((last + pad - kj) / stride)]. The loop runs the lanes' hull; db's lane (all
      // ones) takes every ow.
      let ih = top + ki;
      let rowOk = (vec4u(ih) < vec4u(p.height)) & isTap;
      let at = n * p.height + min(vec4u(ih), vec4u(p.height - 1u));
      let s0 = spans[at.x];
      let s1 = spans[at.y];
      let s2 = spans[at.z];
      let s3 = spans[at.w];
      let first = vec4i(vec4u(s0.x, s1.x, s2.x, s3.x));
      let last = vec4i(vec4u(s0.y, s1.y, s2.y, s3.y));
      let stride = i32(p.stride);
      let fromCol = first + i32(p.pad) - kj;
      let toCol = last + i32(p.pad) - kj;
      let live = rowOk & (first <= last) & (toCol >= vec4i());
      // from and to are >= 0 where it counts, so i32 division is the floor.
      let lo = select(vec4i(i32(p.outW)), (max(fromCol, vec4i()) + stride - 1) / stride, live);
      let hi = select(vec4i(-1), toCol / stride, live);
      let los = select(lo, vec4i(), isOnes);
      let his = select(hi, vec4i(i32(p.outW) - 1), isOnes);
      owStart = u32(min(min(los.x, los.y), min(los.z, los.w)));
      owEnd = u32(clamp(max(max(his.x, his.y), max(his.z, his.w)) + 1, 0, i32(p.outW)));
    }
    for (var ow = owStart; ow < owEnd; ow++) {
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
