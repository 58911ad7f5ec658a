// In-place parameter updates. SGD: p -= lr * g.
// CPU reference: src/kernels/optimizers.ts.

struct Params { n: u32, lr: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;

const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn sgd(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  param[i] -= p.lr * grad[i];
}
