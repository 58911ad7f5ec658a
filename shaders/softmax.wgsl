// Row softmax and the fused softmax + cross-entropy loss with its gradient.
// Softmax subtracts the row max first, so logits around ±1000 give no Inf or NaN.
// The loss is the book's cross_entropy_error: -log(y[t] + 1e-7) per row (the 1e-7 keeps a
// confident wrong answer finite), summed to a batch mean by the reduce family.
// Labels are class indices (labelsIdx, u32) or one-hot rows (labelsHot, f32).
// A row with a logit that is NaN or +Inf gets a NaN loss, as in float64 on the CPU (-Inf is a
// probability of 0, and fine), tested by the bits: WGSL lets a
// compiler assume floats are never NaN, and SwiftShader turned such a row into a finite loss
// (-89.1), which hid a diverged net from the Trainer's check for a non-finite loss.
// CPU references: src/kernels/softmax.ts.

struct Params { rows: u32, cols: u32, invBatch: f32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
// Logits in forward, probabilities in backward.
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> labelsIdx: array<u32>;
@group(0) @binding(3) var<storage, read> labelsHot: array<f32>;
// Probabilities in forward, dx in backward.
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;
@group(0) @binding(5) var<storage, read_write> rowLoss: array<f32>;

const DELTA: f32 = 1e-7;
const WG: u32 = 64u;

/** A quiet NaN, made at run time (a constant NaN is a shader-creation error in WGSL). */
fn nan() -> f32 {
  return bitcast<f32>(0x7fc00000u + min(p.cols, 0u));
}

/** Whether any logit of row r is NaN or +Inf, by its bits. */
fn rowNotFinite(r: u32) -> bool {
  let base = r * p.cols;
  var bad = false;
  for (var c = 0u; c < p.cols; c++) {
    let bits = bitcast<u32>(src[base + c]);
    bad = bad || (bits & 0x7fffffffu) > 0x7f800000u || bits == 0x7f800000u;
  }
  return bad;
}

// Writes the softmax of one row into dst.
fn softmaxRow(r: u32) {
  let base = r * p.cols;
  var mx = src[base];
  for (var c = 1u; c < p.cols; c++) { mx = max(mx, src[base + c]); }
  var total = 0.0;
  for (var c = 0u; c < p.cols; c++) {
    let e = exp(src[base + c] - mx);
    dst[base + c] = e;
    total += e;
  }
  let inv = 1.0 / total;
  for (var c = 0u; c < p.cols; c++) { dst[base + c] *= inv; }
}

@compute @workgroup_size(WG)
fn softmax_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) { return; }
  softmaxRow(r);
}

@compute @workgroup_size(WG)
fn xent_index(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) { return; }
  softmaxRow(r);
  rowLoss[r] = select(-log(dst[r * p.cols + labelsIdx[r]] + DELTA), nan(), rowNotFinite(r));
}

@compute @workgroup_size(WG)
fn xent_onehot(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) { return; }
  softmaxRow(r);
  let base = r * p.cols;
  var loss = 0.0;
  for (var c = 0u; c < p.cols; c++) { loss -= labelsHot[base + c] * log(dst[base + c] + DELTA); }
  rowLoss[r] = select(loss, nan(), rowNotFinite(r));
}

// dx = (y - t) / batch, one invocation per element.
@compute @workgroup_size(WG)
fn xent_backward_index(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.rows * p.cols) { return; }
  let t = select(0.0, 1.0, labelsIdx[i / p.cols] == i % p.cols);
  dst[i] = (src[i] - t) * p.invBatch;
}

@compute @workgroup_size(WG)
fn xent_backward_onehot(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.rows * p.cols) { return; }
  dst[i] = (src[i] - labelsHot[i]) * p.invBatch;
}
