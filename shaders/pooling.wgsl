// Max pooling (the book's ch. 7, common/layers.py Pooling) over NCHW images x [N, C, H, W] into
// y [N, C, OH, OW], OH = 1 + (H + 2·pad - poolH) / stride (and OW alike).
//   max_pool_forward   one invocation per output: the largest value of its window, rows
//                      oh·stride - pad .. + poolH - 1, columns ow·stride - pad .. + poolW - 1,
//                      where a position outside the image is a zero (the book pads with zeros
//                      in im2col), and argmax, the flat index into x of the value taken, or
//                      NONE when that is a padded zero. Ties: the first position in row-major
//                      window order wins (numpy's argmax). NaN: the first NaN of the window wins
//                      and y is NaN, as numpy's max and argmax do; the test is on the bits,
//                      since WGSL lets a compiler assume float comparisons never see a NaN.
//   max_pool_backward  one invocation per input element (gather, no atomics): dx[i] is the sum
//                      of dy over the outputs whose windows contain i and whose argmax is i, in
//                      (oh, ow) order, zero if none. Overlapping windows (stride < pool) add up.
// No workgroup memory or barriers, which software adapters run badly. One dispatch each way.
// CPU references: src/kernels/pooling.ts.

struct Params {
  // outputs (forward) or inputs (backward): the invocations that do work.
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

// Writes output o: the window's maximum and argmax. Returns at the first NaN, which wins.
fn windowMax(o: u32, base: u32, h0: u32, w0: u32) {
  var best = 0.0;
  var arg = NONE;
  // A window inside the image (all of them when pad = 0) skips the bounds checks.
  if (h0 + p.poolH <= p.height && w0 + p.poolW <= p.width) {
    arg = base + h0 * p.width + w0;
    best = src[arg];
    for (var kh = 0u; kh < p.poolH; kh++) {
      let row = base + (h0 + kh) * p.width + w0;
      for (var kw = 0u; kw < p.poolW; kw++) {
        let v = src[row + kw];
        if (isNan(v)) {
          dst[o] = v;
          argmaxOut[o] = row + kw;
          return;
        }
        if (v > best) {
          best = v;
          arg = row + kw;
        }
      }
    }
  } else {
    var first = true;
    for (var kh = 0u; kh < p.poolH; kh++) {
      let h = h0 + kh;
      let rowInside = h < p.height;
      let row = base + h * p.width;
      for (var kw = 0u; kw < p.poolW; kw++) {
        let w = w0 + kw;
        var v = 0.0;
        var idx = NONE;
        if (rowInside && w < p.width) {
          idx = row + w;
          v = src[idx];
          if (isNan(v)) {
            dst[o] = v;
            argmaxOut[o] = idx;
            return;
          }
        }
        if (first || v > best) {
          best = v;
          arg = idx;
          first = false;
        }
      }
    }
  }
  dst[o] = best;
  argmaxOut[o] = arg;
}

@compute @workgroup_size(WG)
fn max_pool_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flatIndex(gid, nwg);
  if (o >= p.n) { return; }
  let ow = o % p.outW;
  let rest = o / p.outW;
  let oh = rest % p.outH;
  let plane = rest / p.outH;
  // Window origin; u32 arithmetic wraps a row or column above or left of the image past
  // height / width, so one unsigned comparison tells padding from image.
  windowMax(o, plane * p.height * p.width, oh * p.stride - p.pad, ow * p.stride - p.pad);
}

@compute @workgroup_size(WG)
fn max_pool_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.n) { return; }
  let w = i % p.width;
  let rest = i / p.width;
  let h = rest % p.height;
  let plane = rest / p.height;
  // The windows that contain (h, w): oh·stride - pad <= h <= oh·stride - pad + poolH - 1.
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
