// matmul: C[M,N] = op(A) · op(B), then an optional epilogue: + bias[N], then ReLU or sigmoid.
// op(X) is X or its transpose (TRANS_A / TRANS_B), so backward reads the stored matrices
// transposed instead of materializing a transpose.
//
// Entry points (variants; the launcher in src/kernels/matmul.ts picks one per adapter):
//   matmul_blocked  each invocation computes a TM x TN block in registers; no workgroup memory,
//                   no barriers (on software adapters a barrier is a thread switch). The
//                   readable form of the next one.
//   matmul_unrolled the same idea written out for a 10x10 block, one variable per accumulator:
//                   generated and appended by src/kernels/matmul-unrolled.ts. Fastest on
//                   SwiftShader, whose JIT does not unroll loops or keep arrays in registers.
//   matmul_tiled    64x64 output tiles staged through workgroup memory (BK = 16 deep), 4x4 per
//                   invocation, strided so neighbouring invocations touch neighbouring words.
//                   For hardware GPUs.
//   matmul_tiled128 the classic SGEMM layout for large products: 128x128 output tiles, BK = 8,
//                   256 invocations each holding an 8x8 block as two-by-two 4x4 sub-blocks 64
//                   apart, operands staged k-major (padded rows, written and read as vec4) and
//                   fetched one slice ahead. Per multiply-add, half the staging and barriers of
//                   matmul_tiled and an eighth of its workgroup-memory read instructions, which
//                   is what bounds large products; 8.25 KiB of workgroup memory. For hardware
//                   (#16's 4096³ target), not yet measured on a GPU, so no adapter's default.
//   matmul_splitk   split K, pass 1 of 2: matmul_tiled's tiles (the same tile64 loop), each
//                   workgroup one tile over one chunk of K (workgroup z), storing raw sums into
//                   a scratch [chunks, M, N]. For hardware, where a small output over a long K
//                   leaves matmul_tiled almost idle: SimpleConvNet's Affine1, [100,4320]·[4320,100],
//                   is 4 tiles, each walking 4320 deep on one of an H100's 132 SMs; split into
//                   54 chunks of 80 it is 216 workgroups. The launcher picks the chunks
//                   (splitkChunks: about 256 workgroups, chunks at least 64 deep, at most 64).
//   matmul_splitk_sum pass 2: one invocation per output adds its chunks in chunk order (the same
//                   result every run, whatever order the workgroups ran in), then the epilogue.
//                   Its own bindings: the scratch read-only (partials) beside C. Both passes
//                   are not yet measured on a GPU, so no adapter's default.
// The CPU reference is matmulCpu in src/kernels/matmul.ts.

// KC: matmul_splitk's chunk depth (a multiple of BK, at least 16); 0 and unread elsewhere.
struct Params { M: u32, N: u32, K: u32, KC: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<f32>;
// matmul_splitk's partial sums [chunks, M, N]: written by pass 1 (partialOut), read by the sum
// pass (partials). Two declarations so that the sum pass binds the scratch read-only beside C.
@group(0) @binding(5) var<storage, read> partials: array<f32>;
@group(0) @binding(6) var<storage, read_write> partialOut: array<f32>;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
// 0: none, 1: ReLU, 2: sigmoid
override ACTIVATION: u32 = 0u;

const TM: u32 = 4u;
const TN: u32 = 4u;

fn loadA(m: u32, k: u32) -> f32 {
  if (TRANS_A) { return A[k * p.M + m]; }
  return A[m * p.K + k];
}

fn loadB(k: u32, n: u32) -> f32 {
  if (TRANS_B) { return B[n * p.K + k]; }
  return B[k * p.N + n];
}

fn sigmoid(x: f32) -> f32 {
  // Both branches avoid exp of a large positive number.
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}

fn epilogue(v: f32, n: u32) -> f32 {
  var x = v;
  if (HAS_BIAS) { x += bias[n]; }
  if (ACTIVATION == 1u) { x = max(x, 0.0); }
  if (ACTIVATION == 2u) { x = sigmoid(x); }
  return x;
}

@compute @workgroup_size(8, 8)
fn matmul_blocked(@builtin(global_invocation_id) gid: vec3u) {
  let row0 = gid.y * TM;
  let col0 = gid.x * TN;
  if (row0 >= p.M || col0 >= p.N) { return; }
  // Clamped indices keep every load in bounds with no branch in the inner loop; the repeated
  // edge rows and columns are computed and not stored.
  var rows: array<u32, TM>;
  var cols: array<u32, TN>;
  for (var i = 0u; i < TM; i++) { rows[i] = min(row0 + i, p.M - 1u); }
  for (var j = 0u; j < TN; j++) { cols[j] = min(col0 + j, p.N - 1u); }
  var acc: array<f32, TM * TN>;
  for (var k = 0u; k < p.K; k++) {
    var a: array<f32, TM>;
    var b: array<f32, TN>;
    for (var i = 0u; i < TM; i++) { a[i] = loadA(rows[i], k); }
    for (var j = 0u; j < TN; j++) { b[j] = loadB(k, cols[j]); }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) {
        acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]);
      }
    }
  }
  for (var i = 0u; i < TM; i++) {
    let r = row0 + i;
    if (r >= p.M) { break; }
    for (var j = 0u; j < TN; j++) {
      let c = col0 + j;
      if (c < p.N) { C[r * p.N + c] = epilogue(acc[i * TN + j], c); }
    }
  }
}

const TILE: u32 = 64u;
const BK: u32 = 16u;
var<workgroup> As: array<f32, BK * TILE>;
var<workgroup> Bs: array<f32, BK * TILE>;

// The 4x4 block (acc[4i + j]: row lid.y + 16i, column lid.x + 16j) that invocation lid owns of
// the 64x64 tile at (rowBase, colBase), summed over k in [kBegin, kEnd): all of K for
// matmul_tiled, one chunk for matmul_splitk. Staged slices past kEnd hold zeros, so a chunk
// needs no multiple of BK; loads stay clamped into the operands and never cross into the next
// chunk's sums. kBegin and kEnd must be uniform over the workgroup (the barriers).
fn tile64(lid: vec3u, rowBase: u32, colBase: u32, kBegin: u32, kEnd: u32) -> array<f32, 16> {
  let tid = lid.y * 16u + lid.x;
  var acc: array<f32, 16>;
  for (var k0 = kBegin; k0 < kEnd; k0 += BK) {
    // 256 invocations stage 64x16 values of each operand, 4 each, walking memory contiguously
    // for the operand's storage order.
    for (var l = 0u; l < 4u; l++) {
      let idx = tid + l * 256u;
      var mm: u32; var ka: u32;
      if (TRANS_A) { mm = idx % TILE; ka = idx / TILE; } else { ka = idx % BK; mm = idx / BK; }
      let m = rowBase + mm;
      let k = k0 + ka;
      let va = loadA(min(m, p.M - 1u), min(k, p.K - 1u));
      As[ka * TILE + mm] = select(0.0, va, m < p.M && k < kEnd);
      var nn: u32; var kb: u32;
      if (TRANS_B) { kb = idx % BK; nn = idx / BK; } else { nn = idx % TILE; kb = idx / TILE; }
      let n = colBase + nn;
      let kk = k0 + kb;
      let vb = loadB(min(kk, p.K - 1u), min(n, p.N - 1u));
      Bs[kb * TILE + nn] = select(0.0, vb, n < p.N && kk < kEnd);
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { a[i] = As[k * TILE + lid.y + 16u * i]; }
      for (var j = 0u; j < 4u; j++) { b[j] = Bs[k * TILE + lid.x + 16u * j]; }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i * 4u + j] = fma(a[i], b[j], acc[i * 4u + j]); }
      }
    }
    workgroupBarrier();
  }
  return acc;
}

@compute @workgroup_size(16, 16)
fn matmul_tiled(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let rowBase = wid.y * TILE;
  let colBase = wid.x * TILE;
  let acc = tile64(lid, rowBase, colBase, 0u, p.K);
  for (var i = 0u; i < 4u; i++) {
    let r = rowBase + lid.y + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let c = colBase + lid.x + 16u * j;
      if (r < p.M && c < p.N) { C[r * p.N + c] = epilogue(acc[i * 4u + j], c); }
    }
  }
}

// Workgroup (x, y, z): the 64x64 tile (x, y) over chunk z, k in [z·KC, min((z + 1)·KC, K)).
// Stores the raw sums; the epilogue belongs to the sum pass, after all chunks are in.
@compute @workgroup_size(16, 16)
fn matmul_splitk(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let rowBase = wid.y * TILE;
  let colBase = wid.x * TILE;
  let kBegin = wid.z * p.KC;
  let acc = tile64(lid, rowBase, colBase, kBegin, min(kBegin + p.KC, p.K));
  let base = wid.z * p.M * p.N;
  for (var i = 0u; i < 4u; i++) {
    let r = rowBase + lid.y + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let c = colBase + lid.x + 16u * j;
      if (r < p.M && c < p.N) { partialOut[base + r * p.N + c] = acc[i * 4u + j]; }
    }
  }
}

// One invocation per output element, in storage order so that neighbouring invocations read
// neighbouring words of each chunk's partials; past 65535 workgroups the grid folds into y.
@compute @workgroup_size(64)
fn matmul_splitk_sum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  let size = p.M * p.N;
  if (idx >= size) { return; }
  let chunks = (p.K + p.KC - 1u) / p.KC;
  // Chunk order is fixed, so the result is the same on every run and every adapter's schedule.
  var s = 0.0;
  for (var z = 0u; z < chunks; z++) { s += partials[z * size + idx]; }
  C[idx] = epilogue(s, idx % p.N);
}

const T128: u32 = 128u;
const BK8: u32 = 8u;
// Row stride of the staged slices in vec4s: 128 floats and 4 of padding. The vec4 stores of a
// k-minor operand (8 neighbouring invocations: 8 k of one m) then cover all 32 banks, and every
// row still starts on a 16-byte boundary.
const S128: u32 = 33u;
var<workgroup> As128: array<vec4<f32>, BK8 * S128>;
var<workgroup> Bs128: array<vec4<f32>, BK8 * S128>;

// The vec4 of a 128 x BK8 slice that invocation tid stages: (first of its 4 consecutive m or n,
// its k). A slice is 256 vec4s, one per invocation, stored whole: a store to one component of a
// shared vec4 becomes a read-modify-write of all four on some backends (Tint's HLSL), a race.
// Where k is the operand's minor dimension, 8 neighbouring invocations take the 8 k of a row,
// so each of the 4 loads reads 32 contiguous bytes of 4 rows across a warp; where m or n is
// minor, 32 neighbouring invocations take one k's 128 values, 16 contiguous bytes each.
fn slot128(tid: u32, kMinor: bool) -> vec2u {
  if (kMinor) { return vec2u((tid / BK8) * 4u, tid % BK8); }
  return vec2u((tid % 32u) * 4u, tid / 32u);
}

fn a128(m: u32, k: u32) -> f32 {
  return select(0.0, loadA(min(m, p.M - 1u), min(k, p.K - 1u)), m < p.M && k < p.K);
}

fn b128(k: u32, n: u32) -> f32 {
  return select(0.0, loadB(min(k, p.K - 1u), min(n, p.N - 1u)), n < p.N && k < p.K);
}

fn fetchA128(m: u32, k: u32) -> vec4<f32> {
  return vec4(a128(m, k), a128(m + 1u, k), a128(m + 2u, k), a128(m + 3u, k));
}

fn fetchB128(k: u32, n: u32) -> vec4<f32> {
  return vec4(b128(k, n), b128(k, n + 1u), b128(k, n + 2u), b128(k, n + 3u));
}

@compute @workgroup_size(16, 16)
fn matmul_tiled128(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let tid = lid.y * 16u + lid.x;
  let sa = slot128(tid, !TRANS_A);
  let sb = slot128(tid, TRANS_B);
  let m = wid.y * T128 + sa.x;
  let n = wid.x * T128 + sb.x;
  // Fetched one slice ahead into registers, so the global loads are in flight during the
  // arithmetic on the slice before.
  var ra = fetchA128(m, sa.y);
  var rb = fetchB128(sb.y, n);
  // Rows 4·lid.y + i and 64 + 4·lid.y + i (acc[2i + h] and acc[8 + 2i + h]) by columns
  // 4·lid.x.. and 64 + 4·lid.x.. (h = 0, 1): two 4x4 sub-blocks 64 apart, not one 8x8, so the 16
  // invocations of a row read 16 consecutive vec4s of Bs128 and a warp's reads never conflict.
  var acc: array<vec4<f32>, 16>;
  for (var k0 = 0u; k0 < p.K; k0 += BK8) {
    As128[sa.y * S128 + sa.x / 4u] = ra;
    Bs128[sb.y * S128 + sb.x / 4u] = rb;
    workgroupBarrier();
    if (k0 + BK8 < p.K) {
      ra = fetchA128(m, k0 + BK8 + sa.y);
      rb = fetchB128(k0 + BK8 + sb.y, n);
    }
    for (var k = 0u; k < BK8; k++) {
      let a0 = As128[k * S128 + lid.y];
      let a1 = As128[k * S128 + 16u + lid.y];
      let b0 = Bs128[k * S128 + lid.x];
      let b1 = Bs128[k * S128 + 16u + lid.x];
      for (var i = 0u; i < 4u; i++) {
        acc[2u * i] = fma(vec4(a0[i]), b0, acc[2u * i]);
        acc[2u * i + 1u] = fma(vec4(a0[i]), b1, acc[2u * i + 1u]);
        acc[8u + 2u * i] = fma(vec4(a1[i]), b0, acc[8u + 2u * i]);
        acc[9u + 2u * i] = fma(vec4(a1[i]), b1, acc[9u + 2u * i]);
      }
    }
    // The next iteration overwrites the slice this one read.
    workgroupBarrier();
  }
  let rowBase = wid.y * T128;
  let colBase = wid.x * T128;
  for (var i = 0u; i < 8u; i++) {
    let r = rowBase + (i / 4u) * 64u + lid.y * 4u + i % 4u;
    if (r >= p.M) { continue; }
    for (var h = 0u; h < 2u; h++) {
      let v = acc[2u * i + h];
      let c0 = colBase + h * 64u + lid.x * 4u;
      for (var j = 0u; j < 4u; j++) {
        let c = c0 + j;
        if (c < p.N) { C[r * p.N + c] = epilogue(v[j], c); }
      }
    }
  }
}
