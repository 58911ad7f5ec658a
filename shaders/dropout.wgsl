// Dropout as in the book (ch. 6): in training each unit is kept when a random draw exceeds the
// dropout ratio and its output is x·mask; at inference every unit is kept and scaled by
// (1 - ratio), the fraction kept on average in training. Backward multiplies by the same mask.
//
// The draw is a hash of (step seed, element index), not a stateful generator: the CPU reference
// computes the same 32-bit integers with Math.imul, so both devices drop exactly the same units
// and a resumed run draws the same masks. Keeping is decided on integers (hash >= threshold,
// threshold = ratio · 2^32), so no float rounding can make the devices disagree.
// Each is a per-element function `<entry>_at(i)`; src/kernels/element-block.ts appends the entry
// points: `<entry>`, one element per invocation, and `<entry>_x8`, eight, for software adapters.
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

// PCG hash (Jarzynski and Olano, "Hash Functions for GPU Rendering", 2020).
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn dropout_forward_at(i: u32) {
  let keep = pcg(pcg(i) ^ p.seed) >= p.threshold;
  maskOut[i] = select(0.0, 1.0, keep);
  dst[i] = select(0.0, src[i], keep);
}

fn dropout_inference_at(i: u32) {
  dst[i] = src[i] * p.keepScale;
}

fn dropout_backward_at(i: u32) {
  dst[i] = src[i] * saved[i];
}
