// conv-pool: SimpleConvNet's block Convolution → Relu → Pooling (max) in one forward dispatch and
// one filter gradient of two, replacing conv_forward + relu_forward + max_pool_forward (three
// passes over SimpleConvNet's 1.7 M conv outputs) and max_pool_backward +
// relu_backward + conv_filter_partial/sum. NCHW x [N, C, H, W], OIHW filters W [O, C, KH, KW]:
//   conv[n,o,oh,ow] = b[o] + Σ_{c,i,j} W[o,c,i,j]·x[n, c, oh·stride + i - pad, ow·stride + j - pad]
//   y[n,o,ph,pw]    = max(0, the largest conv value in the window), the window being the conv
//                     positions (ph·ps - pp + a, pw·ps - pp + b'), a < poolH, b' < poolW; positions
//                     outside the conv output are the pooling's padding
//   argmax          = the flat index into the conv output [N, O, OH, OW] of the window's first
//                     (row-major) position holding that value, or NONE where y is 0: ReLU passes no
//                     gradient there. The first NaN of a window wins (y NaN, argmax its index), as in
//                     shaders/pooling.wgsl (so, unlike relu_forward then max pooling, a NaN is kept).
//   dW[o,c,i,j] += dy[n,o,ph,pw]·x[n, c, oh·stride + i - pad, ow·stride + j - pad] and
//   db[o] += dy[n,o,ph,pw] for each pooled output whose argmax is (n, o, oh, ow).
// The data gradient dx is not here: max_pool_backward (which skips NONE) and conv_backward_data.
//
// Entry points (src/kernels/conv-pool.ts records them; no workgroup memory, barriers or atomics;
// every output element is written by exactly one invocation):
//   conv_relu_pool_forward      y and argmax, any window, stride and padding: one invocation per
//                               8 filters x one pooled output. It walks the window's rows, each
//                               in groups of 4 positions (the vec4 lanes: one conv row, so one
//                               input row per tap row, as in conv_forward), computes the 8 filters'
//                               conv values there (convBlock, shaders/conv-block.wgsl, which
//                               conv_forward runs too; the launcher puts it in front) and folds them
//                               into a running best per filter (pool4: all selects).
//   conv_relu_pool_forward_2x2  the same for 2x2 windows, stride 2, no padding (the book's nets):
//                               one invocation per 8 filters x 2 neighbouring pooled outputs; the
//                               lanes are the 4 conv columns under both windows, for each of the 2
//                               conv rows (no lane idle, where the general one leaves 2 of 4 idle).
//   conv_pool_filter_partial    dW and db, pass 1 of 2: one invocation per (filter, block of 28
//                               taps, chunk of pooled rows (n, ph)). Per pooled position it reads
//                               argmax and dy once, decodes (oh, ow), and adds dy times the block's
//                               taps of x at that receptive field (7 vec4s: all 25 of a 5x5 filter
//                               in one block). db is the sum of the chunk's dy (the first block of
//                               each filter stores it). Only the window's argmax carries a gradient:
//                               1 position in 4 of a 2x2 window, where conv_filter_partial runs all.
// Pass 2, adding the chunks up, is conv_filter_sum of shaders/conv.wgsl: the partial sums have
// its layout [chunks, O, C·KH·KW + 1].
// SKIP_ZEROS (the forwards only; the launchers' spans, which the GpuBackend passes for a data
// batch on an adapter that takes sparse paths): per tap row, only the filter columns whose input
// columns meet that row's nonzero span (conv_row_spans of shaders/conv.wgsl), and the filter blocks
// fastest among neighbouring invocations: SwiftShader runs 4 neighbours as the lanes of one SIMD
// group, which loops as long as its longest lane, and lanes on the same pixels skip alike (with
// the dense order the skipping forward measured 1.3x slower). The sums are the dense ones minus
// exact zeros of x. ONE_CHANNEL (the launcher sets it where C = 1): the taps innermost (see
// shaders/conv-block.wgsl).
//
// Measured on SwiftShader (Dawn, 2 cores), 2026-12-06, by `node --import ./tools/register.mjs
// bench/conv-pool-kernels.ts --reps 15` (and --reps 9 --shapes simple,deep1,deep2,deep3): each op's
// dispatches replayed alone, interleaved round by round with the unfused ops of the GpuBackend, ms
// per call; load average 1.5-2.9 with the benchmark's own load (no other job but short test runs).
// SimpleConvNet, x = a real MNIST batch [100,1,28,28] (80.9% zeros), W[30,1,5,5] (He-scaled
// random), b random ±0.1, pool 2x2 s2 (32% of the pooled outputs NONE); medians over 4 runs:
//   forward, unfused: spans 1 + conv_forward SKIP 67-90 + relu 14-19 + pool 15-22 = 99-133
//   forward, fused:   spans 1 + conv_relu_pool_forward_2x2 SKIP                   = 64-104
//   filter gradient, unfused: pool bwd 13-19 + relu bwd 14-17 + conv_filter_partial SKIP 38-48
//                             + sum 1-1.5                                          = 67-95
//   filter gradient, fused:   conv_pool_filter_partial + sum 1-1.5                 = 48-71
// Median of the rounds' unfused/fused ratios, per run: forward 1.37x 1.48x 1.48x 1.66x (the dense
// fused forward: 1.08x 1.13x 1.20x 1.06x); filter gradient 1.29x 1.37x 1.28x 1.20x. Single rounds
// range 0.5-2.8x, so ~1.5x and ~1.3x are the fair summary. The fused forward costs about what
// conv_forward does: ReLU and pooling are what it saves.
// DeepConvNet's conv → relu → pool blocks (random x, dense kernels, two runs of 9 rounds):
//   x[100,16,28,28] W[16,16,3,3] p1: forward 1.01x 1.35x, filter gradient 1.16x 1.50x
//   x[100,32,14,14] W[32,32,3,3] p2: forward 0.98x 1.11x, filter gradient 1.11x 1.43x
//   x[100,64,7,7] W[64,64,3,3] p1:   forward 1.32x 1.05x, filter gradient 2.07x 1.08x
// There the convolution is nearly all of the forward (ReLU and pooling 5-25 ms of 230-370) and
// only 6% of the windows are NONE; the filter gradient runs 1/4 of the positions but, each filter
// having its own argmax, no x value serves 8 filters as in conv_filter_partial.
// Tried and dropped (SimpleConvNet, MNIST batch, interleaved, same hour): lanes = the 4 positions
// of a 2x2 window (two conv rows per vec4: the skipping hull spans both rows' spans; 1.2-1.4x
// slower than one row per vec4); the running max as a branch per lane (SwiftShader compiled the
// forward for minutes: 32 branches per group; the select form compiles in 0.3 s); filter-gradient
// blocks of 4, 8, 12 and 16 taps (0.7-0.9x of 28); skipping NONE positions with a branch (0.8x:
// loads under divergent control flow are masked); a fast path for receptive fields inside the
// image (0.5-0.7x, the same reason); decoding argmax with a float division (0.8x); chunks of 32,
// 128 or 256 positions (within the noise of 64, which leaves SimpleConvNet 7,200 pass-1
// invocations for hardware GPUs); skipping x's empty columns in the filter gradient from the row
// spans (1.08x, within the noise: on MNIST a pooled row's receptive fields meet ink at 65% of its
// positions). Later the same day (13:35, load ~1; one process, 12 interleaved rounds, outputs
// checked equal): 8 conv columns per invocation (two vec4s, 4 pooled windows) with x as a
// sliding window, one load per tap instead of 4 per vec4 (0.97x skipping, 0.98x dense: on
// SwiftShader the loads are not what the block waits on); the 5 taps of a row written out as one
// sum per filter, so one accumulator update per row instead of 5 (0.67x skipping, losing the
// column skipping; 0.77x dense).
// CPU references: src/kernels/conv-pool.ts (convForwardCpu, then the windows in float64).

struct Params {
  // The convolution: x [N, C, H, W], W [O, C, KH, KW], output [N, O, OH, OW].
  batch: u32, channels: u32, height: u32, width: u32,
  filters: u32, kh: u32, kw: u32, stride: u32,
  pad: u32, outH: u32, outW: u32,
  // The pooling over the conv output: windows poolH x poolW, output [N, O, PH, PW].
  poolH: u32, poolW: u32, poolStride: u32, poolPad: u32,
  pooledH: u32, pooledW: u32,
  // conv_pool_filter_partial: pooled rows (n, ph) per chunk.
  rowsPerChunk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
// The pooled gradient dy [N, O, PH, PW] and the forward's argmax (flat indices into the conv output).
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read> argmaxIn: array<u32>;
// y [N, O, PH, PW], or the filter gradient's partial sums [chunks, O, C·KH·KW + 1] (db's column
// last), which conv_filter_sum of shaders/conv.wgsl adds up. (Bindings 6 and 8: none.)
@group(0) @binding(7) var<storage, read_write> dst: array<f32>;
@group(0) @binding(9) var<storage, read_write> argmaxOut: array<u32>;
// With SKIP_ZEROS: conv_row_spans's result (shaders/conv.wgsl): per input row (n, h), the first
// and last columns where any channel of x is nonzero, (W, 0) for a row of zeros.
@group(0) @binding(10) var<storage, read> spans: array<vec2u>;

const WG: u32 = 64u;
// argmax where ReLU passed nothing (y = 0): no conv output receives a gradient.
const NONE: u32 = 0xffffffffu;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

/** Stores the first `count` (4 or more: all) components of v at dst[at ..]. */
fn store4(at: u32, v: vec4f, count: u32) {
  dst[at] = v.x;
  if (count > 1u) { dst[at + 1u] = v.y; }
  if (count > 2u) { dst[at + 2u] = v.z; }
  if (count > 3u) { dst[at + 3u] = v.w; }
}

// NaN by its bits: WGSL lets a compiler assume floats are never NaN.
fn isNan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// A window's best so far: starts at (0, NONE), which ReLU's zero and the pooling's padding are;
// a NaN value stays (the window's first NaN wins).
struct Best { value: f32, index: u32 }

/**
 * `best` updated with 4 more window positions (lanes in row-major window order, invalid ones
 * ignored): the first NaN, else the first largest value if it beats best. All selects: written
 * as branches per lane, SwiftShader took minutes to compile the forward (32 of them per group).
 */
fn pool4(best: Best, v: vec4f, at: vec4u, valid: vec4<bool>) -> Best {
  let nan = valid & ((bitcast<vec4u>(v) & vec4u(0x7fffffffu)) > vec4u(0x7f800000u));
  let vs = select(vec4f(), v, valid & !nan);
  let m = max(max(vs.x, vs.y), max(vs.z, vs.w));
  let first = select(select(select(at.w, at.z, vs.z == m), at.y, vs.y == m), at.x, vs.x == m);
  let nanAt = select(select(select(at.w, at.z, nan.z), at.y, nan.y), at.x, nan.x);
  let nanValue = select(select(select(v.w, v.z, nan.z), v.y, nan.y), v.x, nan.x);
  let wins = m > best.value;
  var next = Best(select(best.value, m, wins), select(best.index, first, wins));
  next = Best(select(next.value, nanValue, any(nan)), select(next.index, nanAt, any(nan)));
  // A NaN already taken stays.
  let done = isNan(best.value);
  return Best(select(next.value, best.value, done), select(next.index, best.index, done));
}

/** Stores value and index of filter o0 + f (where it exists) at pooled output `out` of filter o0. */
fn storeBest(out: u32, o0: u32, f: u32, best: Best) {
  if (o0 + f < p.filters) {
    let at = out + f * p.pooledH * p.pooledW;
    dst[at] = best.value;
    argmaxOut[at] = best.index;
  }
}

@compute @workgroup_size(WG)
fn conv_relu_pool_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = flatIndex(gid, nwg);
  let filterBlocks = (p.filters + 7u) / 8u;
  let pooled = p.pooledW * p.pooledH * p.batch;
  if (t >= pooled * filterBlocks) { return; }
  // Pooled columns fastest, then rows, images, filter blocks; with SKIP_ZEROS the filter blocks
  // fastest (see the header).
  var ob = t / pooled;
  var r = t % pooled;
  if (SKIP_ZEROS) {
    ob = t % filterBlocks;
    r = t / filterBlocks;
  }
  let pw = r % p.pooledW;
  r /= p.pooledW;
  let ph = r % p.pooledH;
  let n = r / p.pooledH;
  let o0 = ob * 8u;
  let plane = p.outH * p.outW;
  // Flat index of filter o0's conv output plane of image n; filter o0 + f adds f·plane.
  let planeBase = (n * p.filters + o0) * plane;
  var best0 = Best(0.0, NONE);
  var best1 = Best(0.0, NONE);
  var best2 = Best(0.0, NONE);
  var best3 = Best(0.0, NONE);
  var best4 = Best(0.0, NONE);
  var best5 = Best(0.0, NONE);
  var best6 = Best(0.0, NONE);
  var best7 = Best(0.0, NONE);
  // The window's first position in the conv output; negative in the pooling's padding.
  let oh0 = i32(ph * p.poolStride) - i32(p.poolPad);
  let ow0 = i32(pw * p.poolStride) - i32(p.poolPad);
  // Window rows in order, each in groups of 4 positions (lanes): row-major window order.
  for (var a = 0u; a < p.poolH; a++) {
    let oh = oh0 + i32(a);
    // A row of the pooling's padding: zeros, which the best (>= 0) already covers.
    if (oh < 0 || oh >= i32(p.outH)) { continue; }
    for (var b0 = 0u; b0 < p.poolW; b0 += 4u) {
      let bb = b0 + LANES;
      let ow = ow0 + vec4i(bb);
      let valid = (bb < vec4u(p.poolW)) & (vec4u(ow) < vec4u(p.outW));
      let y = convBlock(n, o0, oh * i32(p.stride) - i32(p.pad), ow * i32(p.stride) - i32(p.pad));
      let at = planeBase + u32(oh) * p.outW + vec4u(ow);
      best0 = pool4(best0, y.y0, at, valid);
      best1 = pool4(best1, y.y1, at + plane, valid);
      best2 = pool4(best2, y.y2, at + 2u * plane, valid);
      best3 = pool4(best3, y.y3, at + 3u * plane, valid);
      best4 = pool4(best4, y.y4, at + 4u * plane, valid);
      best5 = pool4(best5, y.y5, at + 5u * plane, valid);
      best6 = pool4(best6, y.y6, at + 6u * plane, valid);
      best7 = pool4(best7, y.y7, at + 7u * plane, valid);
    }
  }
  let out = (n * p.filters + o0) * p.pooledH * p.pooledW + ph * p.pooledW + pw;
  storeBest(out, o0, 0u, best0);
  storeBest(out, o0, 1u, best1);
  storeBest(out, o0, 2u, best2);
  storeBest(out, o0, 3u, best3);
  storeBest(out, o0, 4u, best4);
  storeBest(out, o0, 5u, best5);
  storeBest(out, o0, 6u, best6);
  storeBest(out, o0, 7u, best7);
}

// The best so far of two windows side by side (2x2, stride 2): components x and y.
struct Best2 { value: vec2f, index: vec2u }

/**
 * `best` updated with one conv row of both windows: lanes x, y are the first window's two
 * columns, z, w the second's (invalid lanes ignored). The rule of pool4, per window.
 */
fn pool2x2(best: Best2, v: vec4f, at: vec4u, valid: vec4<bool>) -> Best2 {
  let nan = valid & ((bitcast<vec4u>(v) & vec4u(0x7fffffffu)) > vec4u(0x7f800000u));
  let vs = select(vec4f(), v, valid & !nan);
  let m = max(vs.xz, vs.yw);
  let first = select(at.yw, at.xz, vs.xz == m);
  let anyNan = nan.xz | nan.yw;
  let nanAt = select(at.yw, at.xz, nan.xz);
  let nanValue = select(v.yw, v.xz, nan.xz);
  let wins = m > best.value;
  let value = select(select(best.value, m, wins), nanValue, anyNan);
  let index = select(select(best.index, first, wins), nanAt, anyNan);
  let done = (bitcast<vec2u>(best.value) & vec2u(0x7fffffffu)) > vec2u(0x7f800000u);
  return Best2(select(value, best.value, done), select(index, best.index, done));
}

/** Stores the two windows' value and index of filter o0 + f (where it exists) at pooled output `out` of filter o0. */
fn storeBest2(out: u32, o0: u32, f: u32, best: Best2, both: bool) {
  if (o0 + f < p.filters) {
    let at = out + f * p.pooledH * p.pooledW;
    dst[at] = best.value.x;
    argmaxOut[at] = best.index.x;
    if (both) {
      dst[at + 1u] = best.value.y;
      argmaxOut[at + 1u] = best.index.y;
    }
  }
}

@compute @workgroup_size(WG)
fn conv_relu_pool_forward_2x2(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = flatIndex(gid, nwg);
  let filterBlocks = (p.filters + 7u) / 8u;
  let pairs = (p.pooledW + 1u) / 2u;
  let work = pairs * p.pooledH * p.batch;
  if (t >= work * filterBlocks) { return; }
  // Pairs of pooled columns fastest, then rows, images, filter blocks; with SKIP_ZEROS the filter
  // blocks fastest.
  var ob = t / work;
  var r = t % work;
  if (SKIP_ZEROS) {
    ob = t % filterBlocks;
    r = t / filterBlocks;
  }
  let pw = (r % pairs) * 2u;
  r /= pairs;
  let ph = r % p.pooledH;
  let n = r / p.pooledH;
  let o0 = ob * 8u;
  let plane = p.outH * p.outW;
  let planeBase = (n * p.filters + o0) * plane;
  // Lanes: conv columns 2·pw .. 2·pw + 3, the windows of pooled columns pw and pw + 1.
  let ow = pw * 2u + LANES;
  let valid = (pw + LANES / 2u) < vec4u(p.pooledW);
  let iw0 = vec4i(ow * p.stride) - i32(p.pad);
  var best0 = Best2(vec2f(), vec2u(NONE));
  var best1 = Best2(vec2f(), vec2u(NONE));
  var best2 = Best2(vec2f(), vec2u(NONE));
  var best3 = Best2(vec2f(), vec2u(NONE));
  var best4 = Best2(vec2f(), vec2u(NONE));
  var best5 = Best2(vec2f(), vec2u(NONE));
  var best6 = Best2(vec2f(), vec2u(NONE));
  var best7 = Best2(vec2f(), vec2u(NONE));
  // The windows' two conv rows, in order: row-major window order.
  for (var a = 0u; a < 2u; a++) {
    let oh = ph * 2u + a;
    let y = convBlock(n, o0, i32(oh * p.stride) - i32(p.pad), iw0);
    let at = planeBase + oh * p.outW + ow;
    best0 = pool2x2(best0, y.y0, at, valid);
    best1 = pool2x2(best1, y.y1, at + plane, valid);
    best2 = pool2x2(best2, y.y2, at + 2u * plane, valid);
    best3 = pool2x2(best3, y.y3, at + 3u * plane, valid);
    best4 = pool2x2(best4, y.y4, at + 4u * plane, valid);
    best5 = pool2x2(best5, y.y5, at + 5u * plane, valid);
    best6 = pool2x2(best6, y.y6, at + 6u * plane, valid);
    best7 = pool2x2(best7, y.y7, at + 7u * plane, valid);
  }
  let out = (n * p.filters + o0) * p.pooledH * p.pooledW + ph * p.pooledW + pw;
  let both = pw + 1u < p.pooledW;
  storeBest2(out, o0, 0u, best0, both);
  storeBest2(out, o0, 1u, best1, both);
  storeBest2(out, o0, 2u, best2, both);
  storeBest2(out, o0, 3u, best3, both);
  storeBest2(out, o0, 4u, best4, both);
  storeBest2(out, o0, 5u, best5, both);
  storeBest2(out, o0, 6u, best6, both);
  storeBest2(out, o0, 7u, best7, both);
}

/** x at the 4 flat indices corner + offset where the taps are inside the image, else 0. */
fn tapsAt(corner: i32, top: i32, left: i32, offset: vec4i, k: vec4u) -> vec4f {
  let kk = p.kh * p.kw;
  let inside = (vec4u(top + vec4i((k % kk) / p.kw)) < vec4u(p.height)) & (vec4u(left + vec4i(k % p.kw)) < vec4u(p.width));
  return loadX(vec4u(select(vec4i(), corner + offset, inside)), inside);
}

@compute @workgroup_size(WG)
fn conv_pool_filter_partial(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = flatIndex(gid, nwg);
  let kk = p.kh * p.kw;
  let taps = p.channels * kk;
  let cols = taps + 1u;
  let tapBlocks = (taps + 27u) / 28u;
  let rows = p.batch * p.pooledH;
  let chunks = (rows + p.rowsPerChunk - 1u) / p.rowsPerChunk;
  if (t >= tapBlocks * p.filters * chunks) { return; }
  // Tap blocks fastest, then filters, chunks.
  let k0 = (t % tapBlocks) * 28u;
  let o = (t / tapBlocks) % p.filters;
  let chunk = t / (tapBlocks * p.filters);

  // The block's 28 taps k = (c·KH + i)·KW + j (past the last: the last), 4 to a vec4, and
  // their offsets from the receptive field's top-left pixel within an image.
  let last = vec4u(taps - 1u);
  let k_0 = min(k0 + LANES, last);
  let k_1 = min(k0 + 4u + LANES, last);
  let k_2 = min(k0 + 8u + LANES, last);
  let k_3 = min(k0 + 12u + LANES, last);
  let k_4 = min(k0 + 16u + LANES, last);
  let k_5 = min(k0 + 20u + LANES, last);
  let k_6 = min(k0 + 24u + LANES, last);
  let imagePlane = p.height * p.width;
  let off0 = vec4i((k_0 / kk) * imagePlane + ((k_0 % kk) / p.kw) * p.width + k_0 % p.kw);
  let off1 = vec4i((k_1 / kk) * imagePlane + ((k_1 % kk) / p.kw) * p.width + k_1 % p.kw);
  let off2 = vec4i((k_2 / kk) * imagePlane + ((k_2 % kk) / p.kw) * p.width + k_2 % p.kw);
  let off3 = vec4i((k_3 / kk) * imagePlane + ((k_3 % kk) / p.kw) * p.width + k_3 % p.kw);
  let off4 = vec4i((k_4 / kk) * imagePlane + ((k_4 % kk) / p.kw) * p.width + k_4 % p.kw);
  let off5 = vec4i((k_5 / kk) * imagePlane + ((k_5 % kk) / p.kw) * p.width + k_5 % p.kw);
  let off6 = vec4i((k_6 / kk) * imagePlane + ((k_6 % kk) / p.kw) * p.width + k_6 % p.kw);
  var g0 = vec4f();
  var g1 = vec4f();
  var g2 = vec4f();
  var g3 = vec4f();
  var g4 = vec4f();
  var g5 = vec4f();
  var g6 = vec4f();
  // db: the sum of the block's dy (every block adds it; the first stores it).
  var gb = 0.0;
  let plane = p.outH * p.outW;
  let pooledPlane = p.pooledH * p.pooledW;
  let end = min(rows, (chunk + 1u) * p.rowsPerChunk);
  for (var row = chunk * p.rowsPerChunk; row < end; row++) {
    let n = row / p.pooledH;
    let ph = row % p.pooledH;
    let dyRow = (n * p.filters + o) * pooledPlane + ph * p.pooledW;
    let convBase = (n * p.filters + o) * plane;
    let image = i32(n * p.channels * imagePlane);
    for (var pw = 0u; pw < p.pooledW; pw++) {
      // Branch-free: NONE adds dy = 0 at the plane's first position (skipping it with a
      // branch measured slower on SwiftShader, whose loads under divergent control flow are masked).
      let arg = argmaxIn[dyRow + pw];
      let none = arg == NONE;
      let d = select(dy[dyRow + pw], 0.0, none);
      let at = select(arg - convBase, 0u, none);
      let oh = at / p.outW;
      let ow = at - oh * p.outW;
      let top = i32(oh * p.stride) - i32(p.pad);
      let left = i32(ow * p.stride) - i32(p.pad);
      let corner = image + top * i32(p.width) + left;
      g0 += d * tapsAt(corner, top, left, off0, k_0);
      g1 += d * tapsAt(corner, top, left, off1, k_1);
      g2 += d * tapsAt(corner, top, left, off2, k_2);
      g3 += d * tapsAt(corner, top, left, off3, k_3);
      g4 += d * tapsAt(corner, top, left, off4, k_4);
      g5 += d * tapsAt(corner, top, left, off5, k_5);
      g6 += d * tapsAt(corner, top, left, off6, k_6);
      gb += d;
    }
  }
  // partial[chunk, o, k]; db's column is the last.
  let out = (chunk * p.filters + o) * cols;
  store4(out + k0, g0, taps - k0);
  if (taps > k0 + 4u) { store4(out + k0 + 4u, g1, taps - k0 - 4u); }
  if (taps > k0 + 8u) { store4(out + k0 + 8u, g2, taps - k0 - 8u); }
  if (taps > k0 + 12u) { store4(out + k0 + 12u, g3, taps - k0 - 12u); }
  if (taps > k0 + 16u) { store4(out + k0 + 16u, g4, taps - k0 - 16u); }
  if (taps > k0 + 20u) { store4(out + k0 + 20u, g5, taps - k0 - 20u); }
  if (taps > k0 + 24u) { store4(out + k0 + 24u, g6, taps - k0 - 24u); }
  if (k0 == 0u) { dst[out + taps] = gb; }
}
