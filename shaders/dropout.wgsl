// Dropout as in the book (ch. 6): in training each unit is kept when a random draw exceeds the
// dropout ratio and its output is x·mask; at inference every unit is kept and scaled by
// (1 - ratio), the fraction kept on average in training. Backward multiplies by the same mask.
//
// The draw is a hash of (step seed, element index), not a stateful generator: the CPU reference
// computes the same 32-bit integers with Math.imul, so both devices drop exactly the same units
// and a resumed run draws the same masks. Keeping is decided on integers (hash >= threshold,
// threshold = ratio · 2^32), so no float rounding can make the devices disagree.
// CPU references: src/kernels/dropout.ts.

struct Params { n: u32, seed: u32, threshold: u32, keepScale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
// x in forward, dy in backward.
@group(0) @binding(1) var<storage, read> src: array<f32>;
// The mask in backward.
@group(0) @binding(2) var<storage, read> saved: array<f32>;
// y in forward, dx in backward.
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<storage, read_write> maskOut: array<f32>;

const WG: u32 = 256u;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// PCG hash (Jarzynski and Olano, "Hash Functions for GPU Rendering", 2020).
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

@compute @workgroup_size(WG)
fn dropout_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.n) { return; }
  let keep = pcg(pcg(i) ^ p.seed) >= p.threshold;
  maskOut[i] = select(0.0, 1.0, keep);
  dst[i] = select(0.0, src[i], keep);
}

@compute @workgroup_size(WG)
fn dropout_inference(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.n) { return; }
  dst[i] = src[i] * p.keepScale;
}

@compute @workgroup_size(WG)
fn dropout_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.n) { return; }
  dst[i] = src[i] * saved[i];
}
