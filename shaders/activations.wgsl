// Elementwise activations, forward and backward, one kernel each. Backward never recomputes:
// ReLU applies the mask its forward wrote, sigmoid uses its saved output y (dy * y * (1 - y)).
// Each is a per-element function `<entry>_at(i)`; src/kernels/element-block.ts appends the entry
// points: `<entry>`, one element per invocation, and `<entry>_x8`, eight, for software adapters.
// CPU references: src/kernels/activations.ts.

struct Params { n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
// x in forward, dy in backward.
@group(0) @binding(1) var<storage, read> src: array<f32>;
// The state backward needs: ReLU's mask, or sigmoid's output.
@group(0) @binding(2) var<storage, read> saved: array<f32>;
// y in forward, dx in backward.
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<storage, read_write> maskOut: array<f32>;

const WG: u32 = 256u;

fn sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}

fn relu_forward_at(i: u32) {
  let x = src[i];
  let keep = x > 0.0;
  maskOut[i] = select(0.0, 1.0, keep);
  // select, not x * mask: -Infinity * 0 would be NaN.
  dst[i] = select(0.0, x, keep);
}

fn relu_backward_at(i: u32) {
  dst[i] = src[i] * saved[i];
}

fn sigmoid_forward_at(i: u32) {
  dst[i] = sigmoid(src[i]);
}

fn sigmoid_backward_at(i: u32) {
  let y = saved[i];
  dst[i] = src[i] * y * (1.0 - y);
}
