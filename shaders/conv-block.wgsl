// conv-block: the convolution's register block, shared by shaders/conv.wgsl (conv_forward) and
// shaders/conv-pool.wgsl (the fused Conv → Relu → Pool forwards), whose launchers
// (src/kernels/conv.ts, conv-pool.ts) put this source in front of theirs. A module that includes it declares
// the uniform p (channels, height, width, filters, kh, kw, stride, pad) and the bindings x, w, b
// and spans (conv_row_spans's result); the overrides are declared here.
//
// convBlock computes 8 filters x 4 neighbouring outputs of one conv row (a register block: each
// x value loaded serves 8 filters, each weight 4 outputs), looping over the taps (c, i, j). Its
// callers store the block (conv_forward) or fold it into a running max (the fused forwards).

// Skip the parts of x that conv_row_spans found empty (a data batch on a software adapter):
// per tap row, only the filter columns whose input columns meet that row's nonzero span. Off,
// `spans` is never read (bound to a placeholder) and the kernels are the dense ones.
override SKIP_ZEROS: bool = false;
// The loop order for x of a single channel (the launchers set it where C = 1): the taps
// innermost. Off, the channels go innermost (any C). SwiftShader pays per iteration of an inner
// loop, so the longest loop goes inside: the channels (DeepConvNet's 32-channel 8x8 layer: 2x
// faster than channels outermost), but with one channel that loop would run once per tap
// (SimpleConvNet: 1.8x slower). An override rather than a branch on p.channels: both loop nests
// in one pipeline made SimpleConvNet's skipping fused forward 1.2x slower (register pressure).
override ONE_CHANNEL: bool = false;

const LANES = vec4u(0u, 1u, 2u, 3u);

/** x at 4 flat indices, 0 where `inside` is false (the index is then any in-bounds one). */
fn loadX(at: vec4u, inside: vec4<bool>) -> vec4f {
  return select(vec4f(), vec4f(x[at.x], x[at.y], x[at.z], x[at.w]), inside);
}

/**
 * The filter columns j (first, last; none when first > last) worth visiting where 4 lanes read
 * input row ih of image n at columns iw0 + j: all of 0 .. KW-1 without SKIP_ZEROS; with it, those
 * where some lane's column lies in the row's nonzero span [first, last]. The lanes' iw0 grow, so
 * [first - iw0.w, last - iw0.x] covers every lane's range (any gap between them loads zeros);
 * an empty row's span (W, 0) gives none.
 */
fn tapColumns(n: u32, ih: u32, iw0: vec4i) -> vec2i {
  var js = vec2i(0, i32(p.kw) - 1);
  if (SKIP_ZEROS) {
    let span = spans[n * p.height + ih];
    js = vec2i(max(js.x, i32(span.x) - iw0.w), min(js.y, i32(span.y) - iw0.x));
  }
  return js;
}

// The conv outputs of 8 filters (o0 .. o0 + 7, clamped to the last) at 4 positions, bias included.
struct Block { y0: vec4f, y1: vec4f, y2: vec4f, y3: vec4f, y4: vec4f, y5: vec4f, y6: vec4f, y7: vec4f }

/**
 * conv[n, o0 + f, oh, ow] + b[o0 + f] for f < 8 at 4 positions (lanes) of one conv row, whose
 * receptive fields start at input row ih0 = oh·stride - pad and columns iw0 = ow·stride - pad
 * (negative in the padding). Lanes at positions outside the conv output compute on in-bounds
 * indices, and the callers ignore them.
 */
fn convBlock(n: u32, o0: u32, ih0: i32, iw0: vec4i) -> Block {
  let taps = p.channels * p.kh * p.kw;
  let last = p.filters - 1u;
  let w0 = min(o0, last) * taps;
  let w1 = min(o0 + 1u, last) * taps;
  let w2 = min(o0 + 2u, last) * taps;
  let w3 = min(o0 + 3u, last) * taps;
  let w4 = min(o0 + 4u, last) * taps;
  let w5 = min(o0 + 5u, last) * taps;
  let w6 = min(o0 + 6u, last) * taps;
  let w7 = min(o0 + 7u, last) * taps;
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
  if (ONE_CHANNEL) {
    for (var i = 0u; i < p.kh; i++) {
      let ih = ih0 + i32(i);
      if (ih < 0 || ih >= i32(p.height)) { continue; }
      let xRow = image + u32(ih) * p.width;
      let js = tapColumns(n, u32(ih), iw0);
      for (var j = js.x; j <= js.y; j++) {
        let iw = vec4u(iw0 + j);
        let xs = loadX(xRow + min(iw, vec4u(p.width - 1u)), iw < vec4u(p.width));
        let k = i * p.kw + u32(j);
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
      let ih = ih0 + i32(i);
      if (ih < 0 || ih >= i32(p.height)) { continue; }
      let xRow = image + u32(ih) * p.width;
      let js = tapColumns(n, u32(ih), iw0);
      for (var j = js.x; j <= js.y; j++) {
        let iw = vec4u(iw0 + j);
        let inside = iw < vec4u(p.width);
        let xAt = xRow + min(iw, vec4u(p.width - 1u));
        let tap = i * p.kw + u32(j);
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
  return Block(
    y0 + b[min(o0, last)], y1 + b[min(o0 + 1u, last)], y2 + b[min(o0 + 2u, last)], y3 + b[min(o0 + 3u, last)],
    y4 + b[min(o0 + 4u, last)], y5 + b[min(o0 + 5u, last)], y6 + b[min(o0 + 6u, last)], y7 + b[min(o0 + 7u, last)],
  );
}
