// Reductions, all without workgroup memory or barriers (cheap on software adapters):
//   sum_chunks     each invocation sums CHUNK consecutive values; the launcher repeats it until
//                  one value is left, which makes a tree of partial sums: its rounding error grows
//                  with log(n), not n. The last pass multiplies by `scale` (1/n for a mean).
//   column_sum     one invocation per column, the bias gradient sum over the batch.
//   argmax_rows    the index of each row's largest value (first one on ties).
//   correct_index / correct_onehot
//                  1.0 where a row's argmax equals its label, else 0.0; sum_chunks counts them.
//   store_scalar   copies one value into a slot of a longer tensor (the loss history).
// CPU references: src/kernels/reduce.ts.

struct Params { n: u32, rows: u32, cols: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> labelsIdx: array<u32>;
@group(0) @binding(3) var<storage, read> labelsHot: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;
@group(0) @binding(5) var<storage, read_write> idxOut: array<u32>;

const WG: u32 = 64u;
// 128: a minibatch's per-row losses (100) sum in one pass, one dispatch fewer per step.
const CHUNK: u32 = 128u;
// sum_chunks sums squares instead (the first pass of a sum of squares, for weight decay).
override SQUARE: bool = false;

@compute @workgroup_size(WG)
fn sum_chunks(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let start = i * CHUNK;
  // Invocation 0 always writes, so the sum of an empty tensor is 0 rather than stale memory.
  if (start >= p.n && i > 0u) { return; }
  let end = min(start + CHUNK, p.n);
  var total = 0.0;
  for (var j = start; j < end; j++) {
    let v = src[j];
    total += select(v, v * v, SQUARE);
  }
  dst[i] = total * p.scale;
}

@compute @workgroup_size(WG)
fn column_sum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = gid.x + gid.y * nwg.x * WG;
  if (c >= p.cols) { return; }
  var total = 0.0;
  for (var r = 0u; r < p.rows; r++) { total += src[r * p.cols + c]; }
  dst[c] = total;
}

fn rowArgmax(r: u32) -> u32 {
  let base = r * p.cols;
  var best = 0u;
  var bestValue = src[base];
  for (var c = 1u; c < p.cols; c++) {
    let v = src[base + c];
    if (v > bestValue) { best = c; bestValue = v; }
  }
  return best;
}

@compute @workgroup_size(WG)
fn argmax_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) { return; }
  idxOut[r] = rowArgmax(r);
}

@compute @workgroup_size(WG)
fn correct_index(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) { return; }
  dst[r] = select(0.0, 1.0, rowArgmax(r) == labelsIdx[r]);
}

@compute @workgroup_size(WG)
fn correct_onehot(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var label = 0u;
  var bestT = labelsHot[base];
  for (var c = 1u; c < p.cols; c++) {
    if (labelsHot[base + c] > bestT) { label = c; bestT = labelsHot[base + c]; }
  }
  dst[r] = select(0.0, 1.0, rowArgmax(r) == label);
}

// dst[n] = src[0]: files a step's loss into the loss history without leaving the compute pass.
@compute @workgroup_size(1)
fn store_scalar() {
  dst[p.n] = src[0];
}
