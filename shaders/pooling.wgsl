// Max pooling (the book's ch. 7, common/layers.py Pooling) over NCHW images x [N, C, H, W] into
// y [N, C, OH, OW], OH = 1 + (H + 2·pad - poolH) / stride (and OW alike).
//
// Forward: y = the largest value of each window, rows oh·stride - pad .. + poolH - 1, columns
// ow·stride - pad .. + poolW - 1, where a position outside the image is a zero (the book pads
// with zeros in im2col); argmax = the flat index into x (n·C·H·W + c·H·W + h·W + w) of the value
// taken, or NONE when that is a padded zero. Ties: the first position in row-major window order
// wins (numpy's argmax). NaN: the first NaN of a window wins and y is NaN, as numpy's max and
// argmax do. The NaN test is on the bits: WGSL lets a compiler assume floats are never NaN.
// Backward: dx[i] = Σ dy over the outputs whose argmax is i, zero where there is none.
//
//   max_pool_forward       one invocation per output; any window, stride and padding.
//   max_pool_forward_2x2   the same for 2x2 windows without padding (any stride): the window
//                          written out, no loops and no bounds checks.
//   max_pool_backward      one invocation per input element, which gathers from the outputs
//                          whose windows contain it, in (oh, ow) order: no atomics, the same sum
//                          every run. Overlapping windows (stride < pool) add up.
//   max_pool_backward_2x2  2x2 windows, stride 2, no padding, even H and W (the windows tile the
//                          image): one invocation per output writes its four dx values, dy at
//                          its argmax and zeros elsewhere.
// The launcher (src/kernels/pooling.ts) picks one of each: one dispatch forward, one backward.
// No workgroup memory or barriers, which software adapters run badly. Software adapters do not
// unroll loops, so the written-out 2x2 entry points are what the book's nets (SimpleConvNet,
// DeepConvNet: all 2x2, stride 2, even sizes) run; on SwiftShader they are 2-3x (forward) and
// 6-7x (backward) faster than the general ones. Two outputs per invocation measured no faster.
//
// Timings on SimpleConvNet's pooling, x [100, 30, 24, 24], 2x2 stride 2, on SwiftShader with
// 2 CPU cores: medians of 21 runs of 10 dispatches each, after warm-up, waiting for the queue,
// variants interleaved in one process. The machine was shared (load average about 4), so read
// them against ReLU's forward over the same x, timed in the same run:
//   max_pool_forward_2x2    36 ms    (max_pool_forward, the general loop:    95 ms)
//   max_pool_backward_2x2   28 ms    (max_pool_backward, the general gather: 182 ms)
//   relu_forward, 1 element per invocation, over x: 59 ms
// CPU references: src/kernels/pooling.ts.

struct Params {
  // The invocations that do work: outputs, or input elements for max_pool_backward.
  n: u32,
  height: u32,
  width: u32,
  poolH: u32,
  poolW: u32,
  stride: u32,
  pad: u32,
  outH: u32,
  outW: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// x in forward, dy in backward.
@group(0) @binding(1) var<storage, read> src: array<f32>;
// argmax in backward.
@group(0) @binding(2) var<storage, read> argmaxIn: array<u32>;
// y in forward, dx in backward.
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<storage, read_write> argmaxOut: array<u32>;

const WG: u32 = 64u;
// argmax of a window whose maximum is a padded zero: no input receives its gradient.
const NONE: u32 = 0xffffffffu;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn isNan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// The window's best so far, updated by `take`.
struct Best { value: f32, index: u32, nan: bool }

fn start(value: f32, index: u32) -> Best {
  return Best(value, index, isNan(value));
}

// Keeps (value, index) if it beats the best so far: a larger value, or the window's first NaN
// (after which nothing replaces it). Strict >: on a tie the earlier position stays.
fn take(best: ptr<function, Best>, value: f32, index: u32) {
  let nan = isNan(value);
  if (!(*best).nan && (nan || value > (*best).value)) {
    *best = Best(value, index, nan);
  }
}

// The plane and window origin of output o; u32 arithmetic wraps an origin above or left of the
// image past height / width, so one unsigned comparison tells padding from image.
struct Window { base: u32, h0: u32, w0: u32 }

fn windowOf(o: u32) -> Window {
  let ow = o % p.outW;
  let rest = o / p.outW;
  let oh = rest % p.outH;
  let plane = rest / p.outH;
  return Window(plane * p.height * p.width, oh * p.stride - p.pad, ow * p.stride - p.pad);
}

@compute @workgroup_size(WG)
fn max_pool_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flatIndex(gid, nwg);
  if (o >= p.n) { return; }
  let win = windowOf(o);
  // The first position starts the search (a padded zero if it is outside the image); taking it
  // again in the loop changes nothing.
  var best = start(0.0, NONE);
  if (win.h0 < p.height && win.w0 < p.width) {
    let i = win.base + win.h0 * p.width + win.w0;
    best = start(src[i], i);
  }
  for (var kh = 0u; kh < p.poolH; kh++) {
    let h = win.h0 + kh;
    let rowInside = h < p.height;
    let row = win.base + h * p.width;
    for (var kw = 0u; kw < p.poolW; kw++) {
      let w = win.w0 + kw;
      if (rowInside && w < p.width) {
        take(&best, src[row + w], row + w);
      } else {
        take(&best, 0.0, NONE);
      }
    }
  }
  dst[o] = best.value;
  argmaxOut[o] = best.index;
}

@compute @workgroup_size(WG)
fn max_pool_forward_2x2(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flatIndex(gid, nwg);
  if (o >= p.n) { return; }
  let win = windowOf(o);
  let i = win.base + win.h0 * p.width + win.w0;
  let j = i + p.width;
  var best = start(src[i], i);
  take(&best, src[i + 1u], i + 1u);
  take(&best, src[j], j);
  take(&best, src[j + 1u], j + 1u);
  dst[o] = best.value;
  argmaxOut[o] = best.index;
}

@compute @workgroup_size(WG)
fn max_pool_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.n) { return; }
  let w = i % p.width;
  let rest = i / p.width;
  let h = rest % p.height;
  let plane = rest / p.height;
  // The windows that contain (h, w): oh·stride - pad <= h <= oh·stride - pad + poolH - 1, and
  // 0 <= oh < outH (columns alike). In padded coordinates hp = h + pad, all unsigned.
  let hp = h + p.pad;
  let wp = w + p.pad;
  let ohFirst = select(0u, (hp + 1u - p.poolH + p.stride - 1u) / p.stride, hp + 1u > p.poolH);
  let owFirst = select(0u, (wp + 1u - p.poolW + p.stride - 1u) / p.stride, wp + 1u > p.poolW);
  let ohEnd = min(hp / p.stride + 1u, p.outH);
  let owEnd = min(wp / p.stride + 1u, p.outW);
  let outBase = plane * p.outH * p.outW;
  var total = 0.0;
  for (var oh = ohFirst; oh < ohEnd; oh++) {
    let row = outBase + oh * p.outW;
    for (var ow = owFirst; ow < owEnd; ow++) {
      if (argmaxIn[row + ow] == i) { total += src[row + ow]; }
    }
  }
  dst[i] = total;
}

@compute @workgroup_size(WG)
fn max_pool_backward_2x2(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flatIndex(gid, nwg);
  if (o >= p.n) { return; }
  let win = windowOf(o);
  let a = argmaxIn[o];
  let d = src[o];
  let i = win.base + win.h0 * p.width + win.w0;
  let j = i + p.width;
  dst[i] = select(0.0, d, a == i);
  dst[i + 1u] = select(0.0, d, a == i + 1u);
  dst[j] = select(0.0, d, a == j);
  dst[j + 1u] = select(0.0, d, a == j + 1u);
}
