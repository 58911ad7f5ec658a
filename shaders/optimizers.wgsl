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
// Each update is a per-element function `<entry>_at(i)`; src/kernels/element-block.ts appends
// the entry points: `<entry>`, one element per invocation, and `<entry>_x8`, eight, for software
// adapters.
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

fn sgd_at(i: u32) {
  param[i] -= p.lr * grad[i];
}

// s0 = v; c0 = momentum.
fn momentum_at(i: u32) {
  let v = p.c0 * s0[i] - p.lr * grad[i];
  s0[i] = v;
  param[i] += v;
}

// s0 = v; c0 = momentum, c1 = momentum², c2 = (1 + momentum) * lr.
fn nesterov_at(i: u32) {
  let g = grad[i];
  let v = p.c0 * s0[i] - p.lr * g;
  s0[i] = v;
  param[i] = param[i] + p.c1 * v - p.c2 * g;
}

// s0 = h.
fn adagrad_at(i: u32) {
  let g = grad[i];
  let h = s0[i] + g * g;
  s0[i] = h;
  param[i] -= p.lr * g / (sqrt(h) + EPS);
}

// s0 = h; c0 = decay, c1 = 1 - decay.
fn rmsprop_at(i: u32) {
  let g = grad[i];
  let h = p.c0 * s0[i] + p.c1 * g * g;
  s0[i] = h;
  param[i] -= p.lr * g / (sqrt(h) + EPS);
}

// s0 = m, s1 = v; lr = lr_t, c0 = 1 - beta1, c1 = 1 - beta2.
fn adam_at(i: u32) {
  let g = grad[i];
  let m = s0[i] + p.c0 * (g - s0[i]);
  let v = s1[i] + p.c1 * (g * g - s1[i]);
  s0[i] = m;
  s1[i] = v;
  param[i] -= p.lr * m / (sqrt(v) + EPS);
}
