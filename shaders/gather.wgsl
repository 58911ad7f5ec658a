// Minibatch gather from the GPU-resident dataset. Pixels stay bytes on the GPU (4 per u32
// word, a quarter of the f32 size) and are normalized to [0, 1] here, as they are copied into
// the batch; labels come along as class indices.
//   gather_rows   row r of the batch is dataset row indices[r] (random minibatches)
//   gather_range  row r of the batch is dataset row start + r (evaluation sweeps)
//   gather_rows4, gather_range4
//                 the same, one packed word (four pixels) per invocation: rows then start on a
//                 word boundary, so they need cols % 4 == 0 (MNIST's 784). Four times fewer
//                 invocations and no per-pixel division: 2.5 ms → see src/kernels/gather.ts.
// CPU reference: gatherCpu in src/kernels/gather.ts.

struct Params { rows: u32, cols: u32, start: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read> indices: array<u32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;
@group(0) @binding(5) var<storage, read_write> t: array<u32>;

const WG: u32 = 256u;

fn pixel(i: u32) -> f32 {
  return f32((pixels[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu) / 255.0;
}

fn copyRow(i: u32, r: u32, source: u32) {
  let c = i % p.cols;
  x[i] = pixel(source * p.cols + c);
  if (c == 0u) { t[r] = labels[source]; }
}

@compute @workgroup_size(WG)
fn gather_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.rows * p.cols) { return; }
  let r = i / p.cols;
  copyRow(i, r, indices[r]);
}

@compute @workgroup_size(WG)
fn gather_range(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.rows * p.cols) { return; }
  let r = i / p.cols;
  copyRow(i, r, p.start + r);
}

fn copyWord(i: u32, source0: u32, r: u32) {
  let wordsPerRow = p.cols / 4u;
  let w = i % wordsPerRow;
  let word = pixels[source0 * wordsPerRow + w];
  let o = r * p.cols + w * 4u;
  x[o] = f32(word & 0xffu) / 255.0;
  x[o + 1u] = f32((word >> 8u) & 0xffu) / 255.0;
  x[o + 2u] = f32((word >> 16u) & 0xffu) / 255.0;
  x[o + 3u] = f32(word >> 24u) / 255.0;
  if (w == 0u) { t[r] = labels[source0]; }
}

@compute @workgroup_size(WG)
fn gather_rows4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.rows * (p.cols / 4u)) { return; }
  let r = i / (p.cols / 4u);
  copyWord(i, indices[r], r);
}

@compute @workgroup_size(WG)
fn gather_range4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.rows * (p.cols / 4u)) { return; }
  let r = i / (p.cols / 4u);
  copyWord(i, p.start + r, r);
}
