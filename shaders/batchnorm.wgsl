// Batch normalization (the book's ch. 6) over x [rows, cols]: each column (unit) is normalized
// by its mean and variance over the batch, then scaled by gamma and shifted by beta.
//   batchnorm_train      one invocation per column: batch mean and (biased) variance, the
//                        normalized xn and y = gamma·xn + beta, 1/std saved for backward, and the
//                        running statistics moved towards the batch's (momentum, as the book).
//   batchnorm_inference  one invocation per element: normalizes with the running statistics.
//   batchnorm_backward   one invocation per column: dbeta = Σ dy, dgamma = Σ dy·xn and
//                        dx = gamma/std · (dy - dbeta/rows - xn·dgamma/rows), the book's chain of
//                        steps (dxn, dstd, dvar, dmu) folded into one line.
// A column's work is a serial loop over the batch: no workgroup memory or barriers, which
// software adapters run badly, and the batch is small next to what a matmul does with it.
// CPU references: src/kernels/batchnorm.ts.

struct Params { rows: u32, cols: u32, momentum: f32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
// x in forward, dy in backward.
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
// What backward reads of forward: the normalized input and 1/std per column.
@group(0) @binding(4) var<storage, read> xnSaved: array<f32>;
@group(0) @binding(5) var<storage, read> invStdSaved: array<f32>;
// y in forward, dx in backward.
@group(0) @binding(6) var<storage, read_write> dst: array<f32>;
@group(0) @binding(7) var<storage, read_write> xnOut: array<f32>;
@group(0) @binding(8) var<storage, read_write> invStdOut: array<f32>;
@group(0) @binding(9) var<storage, read_write> runningMean: array<f32>;
@group(0) @binding(10) var<storage, read_write> runningVar: array<f32>;
@group(0) @binding(11) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(12) var<storage, read_write> dbeta: array<f32>;

const WG: u32 = 64u;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn batchnorm_train(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = flatIndex(gid, nwg);
  if (c >= p.cols) { return; }
  let n = f32(p.rows);
  var sum = 0.0;
  for (var r = 0u; r < p.rows; r++) { sum += src[r * p.cols + c]; }
  let mean = sum / n;
  // Two passes (mean, then squared deviations): E[x²] - E[x]² cancels badly in f32.
  var squares = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    let d = src[r * p.cols + c] - mean;
    squares += d * d;
  }
  let variance = squares / n;
  let invStd = 1.0 / sqrt(variance + p.eps);
  invStdOut[c] = invStd;
  let g = gamma[c];
  let b = beta[c];
  for (var r = 0u; r < p.rows; r++) {
    let i = r * p.cols + c;
    let xn = (src[i] - mean) * invStd;
    xnOut[i] = xn;
    dst[i] = g * xn + b;
  }
  runningMean[c] = p.momentum * runningMean[c] + (1.0 - p.momentum) * mean;
  runningVar[c] = p.momentum * runningVar[c] + (1.0 - p.momentum) * variance;
}

@compute @workgroup_size(WG)
fn batchnorm_inference(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.rows * p.cols) { return; }
  let c = i % p.cols;
  let xn = (src[i] - runningMean[c]) / sqrt(runningVar[c] + p.eps);
  dst[i] = gamma[c] * xn + beta[c];
}

@compute @workgroup_size(WG)
fn batchnorm_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = flatIndex(gid, nwg);
  if (c >= p.cols) { return; }
  var sumDy = 0.0;
  var sumDyXn = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    let i = r * p.cols + c;
    sumDy += src[i];
    sumDyXn += src[i] * xnSaved[i];
  }
  dbeta[c] = sumDy;
  dgamma[c] = sumDyXn;
  let n = f32(p.rows);
  let scale = gamma[c] * invStdSaved[c];
  for (var r = 0u; r < p.rows; r++) {
    let i = r * p.cols + c;
    dst[i] = scale * (src[i] - sumDy / n - xnSaved[i] * sumDyXn / n);
  }
}
