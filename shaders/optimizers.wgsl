// In-place parameter updates, one entry point per optimizer of the book's common/optimizer.py:
//   sgd       p -= lr * g
//   momentum  v = momentum * v - lr * g;  p += v
//   nesterov  v *= momentum;  v -= lr * g;  p += momentum² * v;  p -= (1 + momentum) * lr * g
//   adagrad   h += g * g;  p -= lr * g / (sqrt(h) + 1e-7)
//   rmsprop   h *= decay;  h += (1 - decay) * g * g;  p -= lr * g / (sqrt(h) + 1e-7)
//   adam      m += (1 - beta1) * (g - m);  v += (1 - beta2) * (g² - v);  p -= lr_t * m / (sqrt(v) + 1e-7)
//             with lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t), computed on the CPU in float64.
// Every coefficient (momentum², (1 + momentum) * lr, 1 - decay, 1 - beta…) is computed in float64
// by the launcher and arrives in the uniform, so the kernel rounds only its own arithmetic.
// State (v, h, m) lives in read_write buffers beside the parameter.
// CPU reference: src/kernels/optimizers.ts.

// n, lr (lr_t for adam), and up to four coefficients whose meaning depends on the entry point.
struct Params { n: u32, lr: f32, c0: f32, c1: f32, c2: f32, c3: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read_write> s0: array<f32>;
@group(0) @binding(4) var<storage, read_write> s1: array<f32>;

const WG: u32 = 256u;
const EPS: f32 = 1e-7;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn sgd(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  param[i] -= p.lr * grad[i];
}

// s0 = v; c0 = momentum.
@compute @workgroup_size(WG)
fn momentum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let v = p.c0 * s0[i] - p.lr * grad[i];
  s0[i] = v;
  param[i] += v;
}

// s0 = v; c0 = momentum, c1 = momentum², c2 = (1 + momentum) * lr.
@compute @workgroup_size(WG)
fn nesterov(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let g = grad[i];
  let v = p.c0 * s0[i] - p.lr * g;
  s0[i] = v;
  param[i] = param[i] + p.c1 * v - p.c2 * g;
}

// s0 = h.
@compute @workgroup_size(WG)
fn adagrad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let g = grad[i];
  let h = s0[i] + g * g;
  s0[i] = h;
  param[i] -= p.lr * g / (sqrt(h) + EPS);
}

// s0 = h; c0 = decay, c1 = 1 - decay.
@compute @workgroup_size(WG)
fn rmsprop(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let g = grad[i];
  let h = p.c0 * s0[i] + p.c1 * g * g;
  s0[i] = h;
  param[i] -= p.lr * g / (sqrt(h) + EPS);
}

// s0 = m, s1 = v; lr = lr_t, c0 = 1 - beta1, c1 = 1 - beta2.
@compute @workgroup_size(WG)
fn adam(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let g = grad[i];
  let m = s0[i] + p.c0 * (g - s0[i]);
  let v = s1[i] + p.c1 * (g * g - s1[i]);
  s0[i] = m;
  s1[i] = v;
  param[i] -= p.lr * m / (sqrt(v) + EPS);
}
