// sparse: C[M,N] = op(A) · B, then the matmul epilogue (+ bias[N], then ReLU or sigmoid), for an
// op(A) that is mostly zeros (an MNIST batch is ~81% zero pixels). op(A) is A [M,K] or, with
// TRANS_A, the transpose of A stored [K,M]; B is [K,N]. The forward x·W uses A = x; the weight
// gradient xᵀ·dout uses A = x with TRANS_A.
//
// op(A) is cut into panels of PANEL rows. A panel's list holds the columns k where any of its
// rows is nonzero, and the product visits only those. With PANEL = 1 the list is CSR (CSC with
// TRANS_A) without the values; a taller panel lets each loaded value of B serve PANEL rows,
// which is what pays on a software adapter, where every load is a per-lane gather (measured in
// bench/matmul-explore/RESULTS.md: 10-row panels are 2x faster than CSR, which loses even to
// the dense kernel).
//
// Entry points (the launcher in src/kernels/sparse.ts records them):
//   sparse_compress  one invocation per panel, of A's rows and of its columns (so one dispatch
//                    serves both x·W and xᵀ·dout), scanning the panel's K columns in order,
//                    barrier-free: the readable form. Writes the panel's list: the count, then
//                    that many column indices, ascending, in K + 1 words; the row panels' lists
//                    first, then the column panels'. K slots per panel: it cannot overflow.
//   sparse_compress_unrolled
//                    the same with the panel's PANEL loads written out: generated and appended
//                    by src/kernels/sparse-unrolled.ts. About 2x faster on SwiftShader.
//   sparse_matmul_unrolled
//                    one invocation per PANEL x TN block of C, looping over its panel's list, a
//                    PANEL x TN register block written out in full (SwiftShader's JIT neither
//                    unrolls loops nor keeps indexed arrays in registers): generated and
//                    appended by src/kernels/sparse-unrolled.ts. Invocations next to each other
//                    share a panel, so SIMD lanes mostly run the same number of steps.
// Values are read from the dense A, never copied: the list holds indices only.
// With HAS_ORDER, a panel of op(A) = Aᵀ is the rows order[row0 ..] of Aᵀ instead of row0 ..:
// the compress and the matmul read it, the matmul writes those rows of C.
// CPU references: sparseCompressCpu and sparseMatmulCpu in src/kernels/sparse.ts.

struct Params { M: u32, N: u32, K: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> list: array<u32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> C: array<f32>;
@group(0) @binding(6) var<storage, read_write> listOut: array<u32>;
@group(0) @binding(7) var<storage, read> order: array<u32>;

override TRANS_A: bool = false;
override HAS_BIAS: bool = false;
// 0: none, 1: ReLU, 2: sigmoid
override ACTIVATION: u32 = 0u;
// Rows of op(A) per panel; the compress and the matmul reading its lists must agree on it.
override PANEL: u32 = 10u;
// A's columns form the panels of Aᵀ in the order `order` gives (a permutation of 0..Cc-1)
// rather than 0, 1, 2, ...: an order that puts columns that are zero together next to each
// other (neighbouring pixels of an image) shortens the lists of xᵀ·dout.
override HAS_ORDER: bool = false;

const COMPRESS_WG: u32 = 4u;

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

// Row r of a panel of op(A) (which is Aᵀ when `transposed`), as placed by `order`.
fn panelRow(r: u32, transposed: bool) -> u32 {
  if (HAS_ORDER && transposed) { return order[r]; }
  return r;
}

// The compress runs one invocation per panel of both orientations, from one dispatch: the first
// ceil(R/PANEL) invocations list the panels of A's rows (op(A) = A), the others those of its
// columns (op(A) = Aᵀ). Here A is read as stored, [R, Cc]; params carry R in M and Cc in K.
// Selects, not branches, pick the orientation: one SIMD group at most holds both.
struct CompressPanel { M: u32, K: u32, row0: u32, aRow: u32, aStep: u32, base: u32, cols: bool }

fn compressPanel(index: u32) -> CompressPanel {
  let R = p.M;
  let Cc = p.K;
  let rowPanels = (R + PANEL - 1u) / PANEL;
  let cols = index >= rowPanels;
  let M = select(R, Cc, cols);
  let K = select(Cc, R, cols);
  let j = select(index, index - rowPanels, cols);
  // op(A)[m,k] = A[m·aRow + k·aStep], as in matmul_unrolled.
  let base = select(0u, rowPanels * (Cc + 1u), cols) + j * (K + 1u);
  return CompressPanel(M, K, j * PANEL, select(Cc, 1u, cols), select(1u, Cc, cols), base, cols);
}

@compute @workgroup_size(COMPRESS_WG)
fn sparse_compress(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let q = compressPanel(gid.y * (nwg.x * COMPRESS_WG) + gid.x);
  if (q.row0 >= q.M) { return; }
  var count = 0u;
  for (var k = 0u; k < q.K; k++) {
    let ka = k * q.aStep;
    // `|` rather than `||`: no short-circuit, so no branch per element. Rows past M are
    // clamped to M - 1, which adds no column that row M - 1 does not already have.
    var nonzero = false;
    for (var i = 0u; i < PANEL; i++) {
      nonzero = nonzero | (A[panelRow(min(q.row0 + i, q.M - 1u), q.cols) * q.aRow + ka] != 0.0);
    }
    // Written whether or not the column is kept (an empty column's slot is overwritten by the
    // next one): a store on one path only would make SIMD lanes diverge.
    listOut[q.base + 1u + count] = k;
    count += select(0u, 1u, nonzero);
  }
  listOut[q.base] = count;
}
