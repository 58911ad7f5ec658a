// mlp-step: one training step of a fully connected net (Affine → Relu/Sigmoid → … → Affine →
// SoftmaxWithLoss) in two dispatches, instead of the layer-by-layer path's one or more per layer
// and direction. On a real GPU each dispatch costs the host 20-35 µs whatever it computes, so
// the step's speed is its dispatch count; the layer-by-layer path stays the book's structure,
// the reference and the demo's trace.
//
//   mlp_rows    one workgroup per batch row n: gathers the row from the resident dataset (bytes,
//               normalized as shaders/gather.wgsl does), runs the forward layer by layer in
//               workgroup memory (one unit per invocation, strided), the softmax and the book's
//               cross-entropy (-log(y[t] + 1e-7)), then the backward down to the first layer's
//               output gradient. It files, per row, each hidden layer's output a_l (for the
//               next layer's dW), each layer's output gradient δ_l (before the activation's
//               backward: the gradient of the Affine's output) and the row's loss.
//   mlp_update  one invocation per parameter value (every W and b, packed), plus one for the
//               loss: the gradient, a sum over the batch (dW[i,j] = Σ_n in[n,i]·δ[n,j],
//               db[j] = Σ_n δ[n,j], `in` being the gathered data row for the first layer and
//               a_{l-1} after it), then the optimizer's rule in place (the rules of
//               shaders/optimizers.wgsl, with the same coefficients from the launcher). The
//               extra invocation writes the batch-mean loss. With WRITE_GRAD it writes the
//               gradient into `state` instead and moves nothing (the gradient check, the tests).
//
// The parameters of all layers live in one buffer, theta: per layer W [in, out] row-major then
// b [out], layer after layer; the optimizer's state in another, its slot s at s·size + i.
// src/train/mlp-step.ts packs them from the layers and back. Sums run in the order the CPU
// reference (src/kernels/mlp-step.ts) uses. Zero inputs are skipped in the forward's sums (a
// branch every invocation of the workgroup takes alike): MNIST rows are 80% zeros, ReLU's
// outputs about half.

// One Affine layer: `inputs` x `outputs`, W at theta[w ..], b at theta[w + inputs·outputs ..];
// per row n its output a at scratch[a + n·outputs ..] (hidden layers: after the activation) and
// its output gradient at scratch[d + n·outputs ..]. act: the activation after it, 0 none (the
// last layer), 1 ReLU, 2 sigmoid.
struct Layer { inputs: u32, outputs: u32, w: u32, act: u32, a: u32, d: u32, b: u32, blocks: u32 }

const MAX_LAYERS: u32 = 8u;

struct Params {
  batch: u32, layers: u32, features: u32, size: u32,
  // scratch offset of the per-row losses; 1 / batch; the optimizer's lr (lr_t for Adam) and
  // coefficients, as in shaders/optimizers.wgsl.
  losses: u32, invBatch: f32, lr: f32, c0: f32,
  c1: f32, c2: f32, _p0: u32, _p1: u32,
  table: array<Layer, MAX_LAYERS>,
}

@group(0) @binding(0) var<uniform> p: Params;
// The dataset's pixels, 4 bytes per word, and labels (class indices); the batch's row indices.
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read> indices: array<u32>;
@group(0) @binding(4) var<storage, read_write> theta: array<f32>;
@group(0) @binding(5) var<storage, read_write> scratch: array<f32>;
// The optimizer's state: slot 0 at [0, size), slot 1 at [size, 2·size); with WRITE_GRAD, the
// gradient [size] (nothing is updated, so no state is read).
@group(0) @binding(6) var<storage, read_write> state: array<f32>;
// The batch-mean loss [1].
@group(0) @binding(7) var<storage, read_write> loss: array<f32>;

// The update rule of mlp_update: 0 SGD, 1 momentum, 2 Nesterov, 3 AdaGrad, 4 RMSprop, 5 Adam.
override RULE: u32 = 0u;
override WRITE_GRAD: bool = false;

const WG: u32 = 64u;
// The widest hidden or output layer: mlp_rows holds two of them for 4 rows in workgroup memory
// (16 KiB, WebGPU's least maxComputeWorkgroupStorageSize).
const MAX_HIDDEN: u32 = 512u;
const DELTA: f32 = 1e-7;
const EPS: f32 = 1e-7;

fn pixel(i: u32) -> f32 {
  return f32((pixels[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu) / 255.0;
}

fn sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}

// A hidden layer's input and output for the workgroup's 4 rows (the vec4's components); the
// forward swaps them layer by layer. The first layer reads the dataset instead.
var<workgroup> bufA: array<vec4f, MAX_HIDDEN>;
var<workgroup> bufB: array<vec4f, MAX_HIDDEN>;

/** The 4 rows of a workgroup: their batch rows n0 .. n0 + 3 (valid where < batch). */
struct Rows { n0: u32, valid: vec4<bool>, source: vec4u }

/** Stores v's valid components at scratch[at + k·stride] for row k. */
fn store4(at: u32, stride: u32, v: vec4f, valid: vec4<bool>) {
  if (valid.x) { scratch[at] = v.x; }
  if (valid.y) { scratch[at + stride] = v.y; }
  if (valid.z) { scratch[at + 2u * stride] = v.z; }
  if (valid.w) { scratch[at + 3u * stride] = v.w; }
}

/** Files output j of layer l for the 4 rows (after its activation, if any) into dst and, for a hidden layer, scratch. */
fn activate(l: u32, rows: Rows, j: u32, z: vec4f, dst: ptr<workgroup, array<vec4f, MAX_HIDDEN>>) {
  let L = p.table[l];
  var a = z;
  if (L.act == 1u) { a = max(z, vec4f()); }
  if (L.act == 2u) { a = vec4f(sigmoid(z.x), sigmoid(z.y), sigmoid(z.z), sigmoid(z.w)); }
  (*dst)[j] = a;
  if (L.act != 0u) { store4(L.a + rows.n0 * L.outputs + j, L.outputs, a, rows.valid); }
}

/**
 * The first layer's outputs j = lid, lid + WG, … for the 4 rows, from the dataset read a word
 * (4 pixels) of each row at a time: each weight loaded serves 4 rows, and a word of zeros in all
 * 4 rows (most of an MNIST row's border) is skipped, alike in every invocation.
 */
fn firstLayer(rows: Rows, lid: u32, dst: ptr<workgroup, array<vec4f, MAX_HIDDEN>>) {
  let L = p.table[0];
  let words = p.features / 4u;
  let base = rows.source * words;
  for (var j = lid; j < L.outputs; j += WG) {
    var z = vec4f(theta[L.w + L.inputs * L.outputs + j]);
    for (var q = 0u; q < words; q++) {
      let word = vec4u(pixels[base.x + q], pixels[base.y + q], pixels[base.z + q], pixels[base.w + q]);
      if (all(word == vec4u())) { continue; }
      let at = L.w + q * 4u * L.outputs + j;
      // Pixel k of the word in each row, normalized as shaders/gather.wgsl does.
      z += vec4f(word & vec4u(0xffu)) / 255.0 * theta[at];
      z += vec4f((word >> vec4u(8u)) & vec4u(0xffu)) / 255.0 * theta[at + L.outputs];
      z += vec4f((word >> vec4u(16u)) & vec4u(0xffu)) / 255.0 * theta[at + 2u * L.outputs];
      z += vec4f(word >> vec4u(24u)) / 255.0 * theta[at + 3u * L.outputs];
    }
    activate(0u, rows, j, z, dst);
  }
}

/** Layer l's outputs j = lid, lid + WG, … for the 4 rows from their inputs in src (inputs zero in all 4 skipped). */
fn hiddenLayer(l: u32, rows: Rows, lid: u32, src: ptr<workgroup, array<vec4f, MAX_HIDDEN>>, dst: ptr<workgroup, array<vec4f, MAX_HIDDEN>>) {
  let L = p.table[l];
  for (var j = lid; j < L.outputs; j += WG) {
    var z = vec4f(theta[L.w + L.inputs * L.outputs + j]);
    for (var i = 0u; i < L.inputs; i++) {
      let v = (*src)[i];
      if (all(v == vec4f())) { continue; }
      z += v * theta[L.w + i * L.outputs + j];
    }
    activate(l, rows, j, z, dst);
  }
}

/**
 * The softmax of the last layer's logits (in src) with the book's cross-entropy, for the 4 rows
 * at once: every invocation finds the max and the sum itself (a few classes) and writes
 * δ = (y - onehot(t)) / batch of its classes into dst and scratch; the first also the losses.
 */
fn softmaxWithLoss(rows: Rows, lid: u32, src: ptr<workgroup, array<vec4f, MAX_HIDDEN>>, dst: ptr<workgroup, array<vec4f, MAX_HIDDEN>>) {
  let last = p.table[p.layers - 1u];
  let classes = last.outputs;
  var mx = (*src)[0];
  for (var c = 1u; c < classes; c++) { mx = max(mx, (*src)[c]); }
  var total = vec4f();
  for (var c = 0u; c < classes; c++) { total += exp((*src)[c] - mx); }
  let inv = 1.0 / total;
  let t = vec4u(labels[rows.source.x], labels[rows.source.y], labels[rows.source.z], labels[rows.source.w]);
  for (var c = lid; c < classes; c += WG) {
    let y = exp((*src)[c] - mx) * inv;
    let d = (y - select(vec4f(), vec4f(1.0), vec4u(c) == t)) * p.invBatch;
    (*dst)[c] = d;
    store4(last.d + rows.n0 * classes + c, classes, d, rows.valid);
  }
  if (lid == 0u) {
    let yt = vec4f((*src)[t.x].x, (*src)[t.y].y, (*src)[t.z].z, (*src)[t.w].w);
    store4(p.losses + rows.n0, 1u, -log(exp(yt - mx) * inv + DELTA), rows.valid);
  }
}

/**
 * Layer l-1's output gradient for the 4 rows: (δ_l · W_lᵀ) times its activation's derivative,
 * from the activation a_{l-1} this same invocation filed in the forward (the same units per
 * invocation, so no barrier is needed for it).
 */
fn backLayer(l: u32, rows: Rows, lid: u32, src: ptr<workgroup, array<vec4f, MAX_HIDDEN>>, dst: ptr<workgroup, array<vec4f, MAX_HIDDEN>>) {
  let L = p.table[l];
  let prev = p.table[l - 1u];
  for (var i = lid; i < L.inputs; i += WG) {
    var g = vec4f();
    for (var j = 0u; j < L.outputs; j++) { g += (*src)[j] * theta[L.w + i * L.outputs + j]; }
    // Rows past the batch read the last valid row's (their results are not stored).
    let at = prev.a + min(rows.n0, p.batch - 1u) * prev.outputs + i;
    let last = prev.a + (p.batch - 1u) * prev.outputs + i;
    let a = vec4f(scratch[at], scratch[min(at + prev.outputs, last)], scratch[min(at + 2u * prev.outputs, last)], scratch[min(at + 3u * prev.outputs, last)]);
    var d = g;
    if (prev.act == 1u) { d = select(vec4f(), g, a > vec4f()); }
    if (prev.act == 2u) { d = g * a * (1.0 - a); }
    (*dst)[i] = d;
    store4(prev.d + rows.n0 * prev.outputs + i, prev.outputs, d, rows.valid);
  }
}

@compute @workgroup_size(WG)
fn mlp_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  // Every invocation of a workgroup reaches every barrier: the row test is uniform.
  let n0 = (wid.x + wid.y * nwg.x) * 4u;
  if (n0 >= p.batch) { return; }
  let n = n0 + vec4u(0u, 1u, 2u, 3u);
  // Rows past the batch (its last group of 4) read the last row's data; nothing of theirs is stored.
  let rows = Rows(n0, n < vec4u(p.batch), vec4u(indices[n.x], indices[min(n.y, p.batch - 1u)], indices[min(n.z, p.batch - 1u)], indices[min(n.w, p.batch - 1u)]));
  firstLayer(rows, lid, &bufA);
  workgroupBarrier();
  // Forward: layer l (from 1) reads A and writes B when l is odd, the other way when even.
  for (var l = 1u; l < p.layers; l++) {
    if (l % 2u == 1u) { hiddenLayer(l, rows, lid, &bufA, &bufB); } else { hiddenLayer(l, rows, lid, &bufB, &bufA); }
    workgroupBarrier();
  }
  // The logits are in A after an odd number of layers, else in B; δ goes to the other.
  if (p.layers % 2u == 1u) { softmaxWithLoss(rows, lid, &bufA, &bufB); } else { softmaxWithLoss(rows, lid, &bufB, &bufA); }
  workgroupBarrier();
  // Backward: layer l's output was in B for odd l, so its gradient δ_l (in the other buffer)
  // is in B for even l; each layer swaps.
  for (var l = p.layers - 1u; l > 0u; l--) {
    if (l % 2u == 0u) { backLayer(l, rows, lid, &bufB, &bufA); } else { backLayer(l, rows, lid, &bufA, &bufB); }
    workgroupBarrier();
  }
}

/** The optimizer's rule on parameter k with gradient g (shaders/optimizers.wgsl's). */
fn applyRule(k: u32, g: f32) {
  if (WRITE_GRAD) {
    state[k] = g;
  } else if (RULE == 0u) {
    theta[k] -= p.lr * g;
  } else if (RULE == 1u) {
    let v = p.c0 * state[k] - p.lr * g;
    state[k] = v;
    theta[k] += v;
  } else if (RULE == 2u) {
    let v = p.c0 * state[k] - p.lr * g;
    state[k] = v;
    theta[k] = theta[k] + p.c1 * v - p.c2 * g;
  } else if (RULE == 3u) {
    let h = state[k] + g * g;
    state[k] = h;
    theta[k] -= p.lr * g / (sqrt(h) + EPS);
  } else if (RULE == 4u) {
    let h = p.c0 * state[k] + p.c1 * g * g;
    state[k] = h;
    theta[k] -= p.lr * g / (sqrt(h) + EPS);
  } else {
    let m = state[k] + p.c0 * (g - state[k]);
    let v = state[p.size + k] + p.c1 * (g * g - state[p.size + k]);
    state[k] = m;
    state[p.size + k] = v;
    theta[k] -= p.lr * m / (sqrt(v) + EPS);
  }
}

/** Inputs i0 .. i0 + 3 of layer l for batch row n (0 past the layer's inputs); the bias row (i0 = inputs) is ones. */
fn inputs4(l: u32, n: u32, i0: u32) -> vec4f {
  let L = p.table[l];
  if (i0 >= L.inputs) { return vec4f(1.0); }
  if (l == 0u) {
    let word = pixels[(indices[n] * p.features + i0) / 4u];
    return vec4f(vec4u(word, word >> 8u, word >> 16u, word >> 24u) & vec4u(0xffu)) / 255.0;
  }
  let prev = p.table[l - 1u];
  let at = prev.a + n * prev.outputs + i0;
  let i = i0 + vec4u(0u, 1u, 2u, 3u);
  let last = at + 3u;
  return vec4f(scratch[at], select(0.0, scratch[min(at + 1u, last)], i.y < L.inputs), select(0.0, scratch[min(at + 2u, last)], i.z < L.inputs), select(0.0, scratch[last], i.w < L.inputs));
}

/** The rule on W[i, j] (i < inputs) or, for i = inputs, b[j]; nothing past the layer. */
fn updateAt(i: u32, j: u32, L: Layer, g: f32) {
  if (j < L.outputs && i <= L.inputs) { applyRule(L.w + i * L.outputs + j, g); }
}

@compute @workgroup_size(WG)
fn mlp_update(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * WG;
  let blocks = p.table[p.layers - 1u].b + p.table[p.layers - 1u].blocks;
  if (t == blocks) {
    var total = 0.0;
    for (var n = 0u; n < p.batch; n++) { total += scratch[p.losses + n]; }
    loss[0] = total * p.invBatch;
    return;
  }
  if (t > blocks) { return; }
  // The layer that holds block t (the table is in order), and the block's 4 inputs x 4 outputs;
  // the inputs' last block row (i0 = inputs) is the bias. Neighbouring invocations take
  // neighbouring outputs of the same inputs: they read the same x and skip its zeros alike.
  var l = 0u;
  for (var m = 1u; m < p.layers; m++) { if (t >= p.table[m].b) { l = m; } }
  let L = p.table[l];
  let local = t - L.b;
  let columns = (L.outputs + 3u) / 4u;
  let i0 = (local / columns) * 4u;
  let j0 = (local % columns) * 4u;
  let dAt = L.d + j0;
  let dLast = L.d + (p.batch - 1u) * L.outputs + L.outputs - 1u;
  var g0 = vec4f();
  var g1 = vec4f();
  var g2 = vec4f();
  var g3 = vec4f();
  for (var n = 0u; n < p.batch; n++) {
    let x = inputs4(l, n, i0);
    if (all(x == vec4f())) { continue; }
    let at = dAt + n * L.outputs;
    let d = vec4f(scratch[at], scratch[min(at + 1u, dLast)], scratch[min(at + 2u, dLast)], scratch[min(at + 3u, dLast)]);
    g0 += x.x * d;
    g1 += x.y * d;
    g2 += x.z * d;
    g3 += x.w * d;
  }
  if (i0 >= L.inputs) {
    // The bias row (inputs of ones): one row of gradients, b following W in theta.
    updateAt(L.inputs, j0, L, g0.x);
    updateAt(L.inputs, j0 + 1u, L, g0.y);
    updateAt(L.inputs, j0 + 2u, L, g0.z);
    updateAt(L.inputs, j0 + 3u, L, g0.w);
    return;
  }
  // W's rows past the inputs (a last partial block) are not W's: i < inputs.
  let rows = min(L.inputs - i0, 4u);
  updateAt(i0, j0, L, g0.x);
  updateAt(i0, j0 + 1u, L, g0.y);
  updateAt(i0, j0 + 2u, L, g0.z);
  updateAt(i0, j0 + 3u, L, g0.w);
  if (rows > 1u) {
    updateAt(i0 + 1u, j0, L, g1.x);
    updateAt(i0 + 1u, j0 + 1u, L, g1.y);
    updateAt(i0 + 1u, j0 + 2u, L, g1.z);
    updateAt(i0 + 1u, j0 + 3u, L, g1.w);
  }
  if (rows > 2u) {
    updateAt(i0 + 2u, j0, L, g2.x);
    updateAt(i0 + 2u, j0 + 1u, L, g2.y);
    updateAt(i0 + 2u, j0 + 2u, L, g2.z);
    updateAt(i0 + 2u, j0 + 3u, L, g2.w);
  }
  if (rows > 3u) {
    updateAt(i0 + 3u, j0, L, g3.x);
    updateAt(i0 + 3u, j0 + 1u, L, g3.y);
    updateAt(i0 + 3u, j0 + 2u, L, g3.z);
    updateAt(i0 + 3u, j0 + 3u, L, g3.w);
  }
}
