import code from '../../shaders/mlp-step.wgsl?raw';
import type { OptimizerHyper, OptimizerKind } from '../backend/ops.js';
import type { GpuContext } from '../gpu/gpu-context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import { f32bits } from '../gpu/uniforms.js';
import type { GpuTensor } from '../tensor/gpu-tensor.js';
import { ShapeError } from '../tensor/shape.js';
import { dims, grid1d } from './grid.js';
import { optimizerCpu, optimizerUniform } from './optimizers.js';

/** The activation after a hidden Affine layer of a fused step. */
export type MlpActivation = 'relu' | 'sigmoid';

/** An update rule of the fused step: SGD or one of the stateful optimizers. */
export type MlpRule = 'sgd' | OptimizerKind;

/** Must match MAX_LAYERS, MAX_HIDDEN and WG in shaders/mlp-step.wgsl. */
export const MLP_MAX_LAYERS = 8;
/** The widest hidden or output layer of a fused step (the input may be any multiple of 4). */
export const MLP_MAX_WIDTH = 512;
const WG = 64;
/** Batch rows per workgroup of mlp_rows (the vec4 components). */
const ROWS_PER_GROUP = 4;

const RULES: readonly MlpRule[] = ['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam'];

/** One Affine layer of the packed net (offsets in f32 words). */
export interface MlpLayerLayout {
  inputs: number;
  outputs: number;
  /** W [inputs, outputs] at theta[w ..], b at theta[w + inputs·outputs ..]. */
  w: number;
  /** After this layer: its activation; undefined for the last (its logits go to the softmax). */
  activation: MlpActivation | undefined;
  /** Per batch row n: the layer's output (hidden layers) at scratch[a + n·outputs ..], its gradient at scratch[d + n·outputs ..]. */
  a: number;
  d: number;
  /**
   * mlp_update's invocations for this layer, the first at `block`: hardware, blocks of 4 inputs x
   * 4 outputs (the bias a last row of blocks); software, the blocks of [W; b] summed densely over
   * the batch (all of them but the first layer's W, which the list-walking blocks take; see
   * MlpTiling), numbered from the first of those.
   */
  block: number;
  blocks: number;
}

/**
 * Which form of the kernels a layout runs: 'hardware', the readable kernels in
 * shaders/mlp-step.wgsl (rows spread over workgroups of 64, an update invocation per 4x4 block);
 * 'software', register blocks written out in full by this file (SwiftShader's JIT neither unrolls
 * loops nor keeps indexed arrays in registers, and runs both sides of every branch).
 */
export type MlpVariant = 'hardware' | 'software';

/**
 * The software variant's blocking. mlp_rows_sw: a workgroup of `wg` invocations per panel of
 * `rows` batch rows, each invocation `tn` outputs of a layer at a time (a rows x tn register
 * block). mlp_update_sw: one invocation per `ti` x `tj` block of a layer's gradient; for the
 * first layer's W, `ti` pixels (ti / 4 dataset words) whose batch rows with ink are listed.
 */
export interface MlpTiling {
  rows: number;
  tn: number;
  wg: number;
  ti: number;
  tj: number;
  wgu: number;
}

/** The software blocking kept, measured on SwiftShader against the others tried (shaders/mlp-step.wgsl's header). */
export const MLP_SOFTWARE_TILING: MlpTiling = { rows: 10, tn: 13, wg: 4, ti: 8, tj: 13, wgu: 8 };

export interface MlpLayoutOptions {
  /** The software variant (for software adapters, such as SwiftShader); default hardware. */
  software?: boolean;
  /** The software variant's blocking (exploration; default MLP_SOFTWARE_TILING). */
  tiling?: MlpTiling;
}

/** Where a fused step keeps everything, for one net and batch size. */
export interface MlpLayout {
  batch: number;
  /** Input width: the dataset's features. */
  features: number;
  layers: MlpLayerLayout[];
  /** Parameter values in theta (every W and b). */
  size: number;
  /** mlp_update's invocations: every layer's blocks, then one for the loss. */
  invocations: number;
  /** Where the per-row losses are in scratch, and scratch's length. */
  losses: number;
  scratch: number;
  variant: MlpVariant;
  /** Software variant: its blocking, and where its lists are in scratch (after the losses). */
  tiling?: MlpTiling;
  rowLists: number;
  colLists: number;
  /** Workgroups of the row kernel: hardware, one per 4 rows; software, one per panel, then `columnGroups` that list the first layer's rows. */
  panels: number;
  columnGroups: number;
}

/**
 * The packed layout of a net of Affine layers `widths[0] → widths[1] → … → widths[L]` with the
 * given activations after each hidden layer, for batches of `batch` rows, for the hardware
 * kernels or (options.software) the software ones: theta's packing and the activations,
 * gradients and losses in scratch are the same for both; the software layout adds its lists
 * after them. Refuses what the kernels cannot hold (more than 8 layers, a layer wider than 512).
 */
export function mlpLayout(widths: readonly number[], activations: readonly MlpActivation[], batch: number, options: MlpLayoutOptions = {}): MlpLayout {
  const count = widths.length - 1;
  if (count < 1 || count > MLP_MAX_LAYERS) throw new ShapeError(`mlp-step: ${count} Affine layers; the fused step takes 1 to ${MLP_MAX_LAYERS}`);
  if (activations.length !== count - 1) throw new ShapeError(`mlp-step: ${count} Affine layers need ${count - 1} activations between them, got ${activations.length}`);
  for (const w of widths) if (!Number.isInteger(w) || w < 1) throw new ShapeError(`mlp-step: layer width ${w} is not a positive integer`);
  for (const w of widths.slice(1)) {
    if (w > MLP_MAX_WIDTH) throw new ShapeError(`mlp-step: a layer of ${w} outputs; the fused step takes at most ${MLP_MAX_WIDTH} (two layers of 4 rows fill 16 KiB of workgroup memory)`);
  }
  if (widths[0]! % 4 !== 0) throw new ShapeError(`mlp-step: ${widths[0]} input features; the fused step reads the dataset's bytes a word (4 features) at a time and needs a multiple of 4`);
  if (!Number.isInteger(batch) || batch < 1) throw new ShapeError(`mlp-step: batch size ${batch} is not a positive integer`);
  // The software lists hold row numbers as f32 values in scratch: exact below 2^24.
  if (batch >= 2 ** 24) throw new ShapeError(`mlp-step: batch size ${batch}; the fused step takes fewer than 2^24 rows`);
  const software = !!options.software;
  const t = options.tiling ?? MLP_SOFTWARE_TILING;
  if (software && !Object.values(t).every((v) => Number.isInteger(v) && v >= 1)) throw new ShapeError(`mlp-step: tiling ${JSON.stringify(t)} is not positive integers`);
  if (software && (t.ti % 4 !== 0 || t.ti < 4)) throw new ShapeError(`mlp-step: tiling ti = ${t.ti}; the first layer's blocks are whole dataset words (4 pixels)`);
  const layers: MlpLayerLayout[] = [];
  let theta = 0;
  let scratch = 0;
  let block = 0;
  for (let l = 0; l < count; l++) {
    const inputs = widths[l]!;
    const outputs = widths[l + 1]!;
    const hidden = l < count - 1;
    const a = scratch;
    if (hidden) scratch += batch * outputs;
    const d = scratch;
    scratch += batch * outputs;
    const blocks = software
      ? (l === 0 ? 1 : Math.ceil((inputs + 1) / t.ti)) * Math.ceil(outputs / t.tj)
      : (Math.ceil(inputs / 4) + 1) * Math.ceil(outputs / 4);
    layers.push({ inputs, outputs, w: theta, activation: hidden ? activations[l] : undefined, a, d, block, blocks });
    theta += inputs * outputs + outputs;
    block += blocks;
  }
  const losses = scratch;
  scratch += batch;
  if (!software) return { batch, features: widths[0]!, layers, size: theta, invocations: block + 1, losses, scratch, variant: 'hardware', rowLists: 0, colLists: 0, panels: Math.ceil(batch / ROWS_PER_GROUP), columnGroups: 0 };
  const words = widths[0]! / 4;
  const panels = Math.ceil(batch / t.rows);
  const pixelBlocks = Math.ceil(words / (t.ti / 4));
  const rowLists = scratch;
  scratch += panels * t.wg * words;
  const colLists = scratch;
  scratch += pixelBlocks * (batch + 1);
  const firstW = pixelBlocks * Math.ceil(widths[1]! / t.tj);
  return {
    batch,
    features: widths[0]!,
    layers,
    size: theta,
    invocations: firstW + block + 1,
    losses,
    scratch,
    variant: 'software',
    tiling: { ...t },
    rowLists,
    colLists,
    panels,
    columnGroups: Math.ceil(pixelBlocks / t.wg),
  };
}

/** The uniform Params of shaders/mlp-step.wgsl. */
function params(layout: MlpLayout, first: number, lr = 0, c: readonly number[] = []): number[] {
  const words = [layout.batch, layout.layers.length, layout.features, layout.size, layout.losses, f32bits(1 / layout.batch), f32bits(lr), f32bits(c[0] ?? 0), f32bits(c[1] ?? 0), f32bits(c[2] ?? 0), layout.rowLists, layout.colLists, first, 0, 0, 0];
  for (let l = 0; l < MLP_MAX_LAYERS; l++) {
    const L = layout.layers[l];
    const act = L?.activation === 'relu' ? 1 : L?.activation === 'sigmoid' ? 2 : 0;
    words.push(...(L ? [L.inputs, L.outputs, L.w, act, L.a, L.d, L.block, L.blocks] : [0, 0, 0, 0, 0, 0, 0, 0]));
  }
  return words;
}

const range = (n: number) => [...Array(n).keys()];

/** A tiling's name: the pipeline variant of its generated entry points. */
export function mlpTilingName(t: MlpTiling): string {
  return `r${t.rows}n${t.tn}w${t.wg}-u${t.ti}x${t.tj}w${t.wgu}`;
}

/**
 * mlp_rows_sw for a tiling: a workgroup per panel of `rows` batch rows (and, after the panels,
 * workgroups that list each pixel block's batch rows with ink for mlp_update_sw). Every layer is
 * a rows x tn register block per invocation, written out, the invocations of the workgroup on
 * neighbouring blocks of outputs; a storage barrier between layers. The first layer reads the
 * dataset's words, only those nonzero in some row of the panel: each invocation lists them once
 * (scratch at rowLists), then walks the list for each of its blocks.
 */
export function mlpRowsSource(t: MlpTiling): string {
  const R = range(t.rows);
  const C = range(t.tn);
  const K = range(t.ti / 4);
  const RC = (f: (r: number, c: number) => string) => R.flatMap((r) => C.map((c) => f(r, c)));
  // Stores without branches (SwiftShader's compile time grows fast with their number): rows past
  // the batch and columns past the layer are clamped to the last, whose value the same invocation
  // computed from the same inputs in the same order, so those stores repeat a store.
  const store = (indent: string, value: (r: number, c: number) => string, at: (r: number, c: number) => string) => RC((r, c) => `${indent}scratch[${at(r, c)}] = ${value(r, c)};`);
  return [
    `// mlp_rows_sw: panels of ${t.rows} rows, ${t.rows}x${t.tn} blocks, workgroup ${t.wg}; generated by src/kernels/mlp-step.ts`,
    '',
    '/** Lists, for pixel block c (ti / 4 words), the batch rows where any of its pixels is nonzero: the count, then the rows (as f32). */',
    'fn swColumns(c: u32, words: u32) {',
    `  let blocks = (words + ${K.length - 1}u) / ${K.length}u;`,
    '  if (c >= blocks) { return; }',
    ...K.map((k) => `  let q${k} = min(c * ${K.length}u + ${k}u, words - 1u);`),
    '  let base = p.colLists + c * (p.batch + 1u);',
    '  var count = 0u;',
    '  for (var n = 0u; n < p.batch; n++) {',
    '    let s = sourceRow(n) * words;',
    `    let ink = ${K.map((k) => `pixels[s + q${k}]`).join(' | ')};`,
    '    scratch[base + 1u + count] = f32(n);',
    '    count += select(0u, 1u, ink != 0u);',
    '  }',
    '  scratch[base] = f32(count);',
    '}',
    '',
    `@compute @workgroup_size(${t.wg})`,
    'fn mlp_rows_sw(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {',
    '  let group = wid.x + wid.y * nwg.x;',
    '  let words = p.features / 4u;',
    `  let panels = (p.batch + ${t.rows - 1}u) / ${t.rows}u;`,
    '  if (group >= panels) {',
    `    swColumns((group - panels) * ${t.wg}u + lid, words);`,
    '    return;',
    '  }',
    `  let n0 = group * ${t.rows}u;`,
    // Rows past the batch (its last panel) compute the last row again; nothing of theirs is stored.
    ...R.map((r) => `  let row${r} = min(n0 + ${r}u, p.batch - 1u);`),
    ...R.map((r) => `  let s${r} = sourceRow(row${r}) * words;`),
    // This invocation's list of the panel's nonzero words (every store lands; the count moves on ink).
    `  let lb = p.rowLists + (group * ${t.wg}u + lid) * words;`,
    '  var count = 0u;',
    '  for (var q = 0u; q < words; q++) {',
    `    let ink = ${R.map((r) => `pixels[s${r} + q]`).join(' | ')};`,
    '    scratch[lb + count] = f32(q);',
    '    count += select(0u, 1u, ink != 0u);',
    '  }',
    '  {',
    '    let L = p.table[0];',
    '    let out = L.outputs;',
    '    let dst = select(L.a, L.d, p.layers == 1u);',
    `    let blocks = (out + ${t.tn - 1}u) / ${t.tn}u;`,
    `    for (var b = lid; b < blocks; b += ${t.wg}u) {`,
    `      let j0 = b * ${t.tn}u;`,
    ...C.map((c) => `      let col${c} = min(j0 + ${c}u, out - 1u);`),
    ...C.map((c) => `      let b${c} = theta[L.w + L.inputs * out + col${c}];`),
    ...RC((r, c) => `      var z${r}_${c} = b${c};`),
    '      for (var e = 0u; e < count; e++) {',
    '        let q = u32(scratch[lb + e]);',
    ...R.map((r) => `        let x${r} = pixels[s${r} + q];`),
    '        let k0 = L.w + q * 4u * out;',
    ...[0, 1, 2, 3].flatMap((k) => [
      '        {',
      `          let k = k0 + ${k}u * out;`,
      ...C.map((c) => `          let w${c} = theta[k + col${c}];`),
      ...R.map((r) => `          let v${r} = f32(${k ? `(x${r} >> ${8 * k}u)` : `x${r}`} & 0xffu) / 255.0;`),
      ...RC((r, c) => `          z${r}_${c} = v${r} * w${c} + z${r}_${c};`),
      '        }',
    ]),
    '      }',
    ...store('      ', (r, c) => `activation(z${r}_${c}, L.act)`, (r, c) => `dst + row${r} * out + col${c}`),
    '    }',
    '  }',
    '  storageBarrier();',
    '  for (var l = 1u; l < p.layers; l++) {',
    '    let L = p.table[l];',
    '    let out = L.outputs;',
    '    let inputs = L.inputs;',
    '    let src = p.table[l - 1u].a;',
    '    let dst = select(L.a, L.d, l == p.layers - 1u);',
    ...R.map((r) => `    let h${r} = src + row${r} * inputs;`),
    `    let blocks = (out + ${t.tn - 1}u) / ${t.tn}u;`,
    `    for (var b = lid; b < blocks; b += ${t.wg}u) {`,
    `      let j0 = b * ${t.tn}u;`,
    ...C.map((c) => `      let col${c} = min(j0 + ${c}u, out - 1u);`),
    ...C.map((c) => `      let b${c} = theta[L.w + inputs * out + col${c}];`),
    ...RC((r, c) => `      var z${r}_${c} = b${c};`),
    '      for (var i = 0u; i < inputs; i++) {',
    ...R.map((r) => `        let x${r} = scratch[h${r} + i];`),
    '        let k = L.w + i * out;',
    ...C.map((c) => `        let w${c} = theta[k + col${c}];`),
    ...RC((r, c) => `        z${r}_${c} = x${r} * w${c} + z${r}_${c};`),
    '      }',
    ...store('      ', (r, c) => `activation(z${r}_${c}, L.act)`, (r, c) => `dst + row${r} * out + col${c}`),
    '    }',
    '    storageBarrier();',
    '  }',
    // Softmax with the book's cross-entropy, a row per invocation: the logits (in d) become δ.
    '  {',
    '    let L = p.table[p.layers - 1u];',
    '    let classes = L.outputs;',
    `    for (var r = lid; r < ${t.rows}u; r += ${t.wg}u) {`,
    '      let n = min(n0 + r, p.batch - 1u);',
    '      let valid = n0 + r < p.batch;',
    '      let at = L.d + n * classes;',
    '      var mx = scratch[at];',
    '      var bad = badLogit(mx);',
    '      for (var c = 1u; c < classes; c++) { mx = max(mx, scratch[at + c]); bad = bad || badLogit(scratch[at + c]); }',
    '      var total = 0.0;',
    '      for (var c = 0u; c < classes; c++) { total += exp(scratch[at + c] - mx); }',
    '      let inv = 1.0 / total;',
    '      let label = labels[sourceRow(n)];',
    '      let zt = scratch[at + min(label, classes - 1u)];',
    '      for (var c = 0u; c < classes; c++) {',
    '        let d = (exp(scratch[at + c] - mx) * inv - select(0.0, 1.0, c == label)) * p.invBatch;',
    '        if (valid) { scratch[at + c] = d; }',
    '      }',
    '      if (valid) { scratch[p.losses + n] = select(-log(exp(zt - mx) * inv + DELTA), nan(), bad); }',
    '    }',
    '  }',
    '  storageBarrier();',
    // Backward: δ of layer l-1 = (δ_l · W_lᵀ) through l-1's activation, blocks of its units.
    '  for (var l = p.layers - 1u; l > 0u; l--) {',
    '    let L = p.table[l];',
    '    let prev = p.table[l - 1u];',
    '    let out = L.outputs;',
    '    let inputs = L.inputs;',
    ...R.map((r) => `    let g${r} = L.d + row${r} * out;`),
    `    let blocks = (inputs + ${t.tn - 1}u) / ${t.tn}u;`,
    `    for (var b = lid; b < blocks; b += ${t.wg}u) {`,
    `      let i0 = b * ${t.tn}u;`,
    ...C.map((c) => `      let col${c} = min(i0 + ${c}u, inputs - 1u);`),
    ...C.map((c) => `      let k${c} = L.w + col${c} * out;`),
    ...RC((r, c) => `      var z${r}_${c} = 0.0;`),
    '      for (var j = 0u; j < out; j++) {',
    ...R.map((r) => `        let x${r} = scratch[g${r} + j];`),
    ...C.map((c) => `        let w${c} = theta[k${c} + j];`),
    ...RC((r, c) => `        z${r}_${c} = x${r} * w${c} + z${r}_${c};`),
    '      }',
    ...store('      ', (r, c) => `activationBack(z${r}_${c}, scratch[prev.a + row${r} * inputs + col${c}], prev.act)`, (r, c) => `prev.d + row${r} * inputs + col${c}`),
    '    }',
    '    storageBarrier();',
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * mlp_update_sw for a tiling: one invocation per ti x tj block of a layer's gradient, then the
 * rule on that block of theta. The first layer's W: ti pixels (ti / 4 words), summed over the
 * batch rows mlp_rows_sw listed as having ink there; every other block ([W; b] of the later
 * layers, the first layer's b) over the whole batch, its inputs from the activations in scratch
 * (ones on the bias row). One more invocation writes the batch-mean loss. The two sums are two
 * loops; an invocation runs its own and one step of the other (both are written out, and
 * SwiftShader runs a loop's body once even when no lane enters it).
 */
export function mlpUpdateSource(t: MlpTiling): string {
  const I = range(t.ti);
  const J = range(t.tj);
  const K = range(t.ti / 4);
  const IJ = (f: (i: number, j: number) => string) => I.flatMap((i) => J.map((j) => f(i, j)));
  return [
    `// mlp_update_sw: ${t.ti}x${t.tj} blocks, workgroup ${t.wgu}; generated by src/kernels/mlp-step.ts`,
    `@compute @workgroup_size(${t.wgu})`,
    'fn mlp_update_sw(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {',
    `  let t = gid.x + gid.y * nwg.x * ${t.wgu}u;`,
    '  let words = p.features / 4u;',
    `  let pixelBlocks = (words + ${K.length - 1}u) / ${K.length}u;`,
    `  let firstCols = (p.table[0].outputs + ${t.tj - 1}u) / ${t.tj}u;`,
    '  let listed = pixelBlocks * firstCols;',
    '  let dense = p.table[p.layers - 1u].b + p.table[p.layers - 1u].blocks;',
    '  if (t == listed + dense) {',
    '    var total = 0.0;',
    '    for (var n = 0u; n < p.batch; n++) { total += scratch[p.losses + n]; }',
    '    loss[0] = total * p.invBatch;',
    '    return;',
    '  }',
    '  if (t > listed + dense) { return; }',
    '  let isListed = t < listed;',
    // A dense block: its layer (the table is in order), then its rows (i, the bias row last) and columns.
    '  let u = t - listed;',
    '  var m = 0u;',
    '  for (var k = 1u; k < p.layers; k++) { if (u >= p.table[k].b) { m = k; } }',
    '  let l = select(m, 0u, isListed);',
    '  let L = p.table[l];',
    '  let out = L.outputs;',
    `  let cols = (out + ${t.tj - 1}u) / ${t.tj}u;`,
    '  let local = select(u - L.b, t, isListed);',
    `  let j0 = (local % cols) * ${t.tj}u;`,
    `  let i0 = select(select((local / cols) * ${t.ti}u, L.inputs, l == 0u), (local / cols) * ${t.ti}u, isListed);`,
    '  let rowEnd = select(L.inputs + 1u, L.inputs, isListed);',
    ...J.map((j) => `  let col${j} = min(j0 + ${j}u, out - 1u);`),
    ...IJ((i, j) => `  var g${i}_${j} = 0.0;`),
    // The first layer's W: the listed rows only.
    '  let pc = local / cols;',
    '  let lb = p.colLists + pc * (p.batch + 1u);',
    '  let count = select(0u, min(u32(scratch[lb]), p.batch), isListed);',
    ...K.map((k) => `  let q${k} = min(pc * ${K.length}u + ${k}u, words - 1u);`),
    '  for (var e = 0u; e < count; e++) {',
    '    let n = u32(scratch[lb + 1u + e]);',
    '    let s = sourceRow(n) * words;',
    '    let dr = L.d + n * out;',
    ...J.map((j) => `    let d${j} = scratch[dr + col${j}];`),
    ...K.map((k) => `    let x${k} = pixels[s + q${k}];`),
    ...I.map((i) => `    let v${i} = f32(${i % 4 ? `(x${i >> 2} >> ${8 * (i % 4)}u)` : `x${i >> 2}`} & 0xffu) / 255.0;`),
    ...IJ((i, j) => `    g${i}_${j} = v${i} * d${j} + g${i}_${j};`),
    '  }',
    // Every other block: the whole batch; inputs from the previous layer's activations, 1 on the bias row.
    '  let steps = select(p.batch, 0u, isListed);',
    '  let xa = p.table[max(l, 1u) - 1u].a;',
    '  let xs = select(L.inputs, 1u, l == 0u);',
    ...I.map((i) => `  let r${i} = min(i0 + ${i}u, xs - 1u);`),
    '  for (var n = 0u; n < steps; n++) {',
    '    let xr = xa + n * xs;',
    ...I.map((i) => `    let v${i} = select(scratch[xr + r${i}], 1.0, i0 + ${i}u >= L.inputs);`),
    '    let dr = L.d + n * out;',
    ...J.map((j) => `    let d${j} = scratch[dr + col${j}];`),
    ...IJ((i, j) => `    g${i}_${j} = v${i} * d${j} + g${i}_${j};`),
    '  }',
    // W[i, j] at w + i·out + j; b (the row i = inputs) follows W, so the same formula.
    ...IJ((i, j) => `  if (i0 + ${i}u < rowEnd && j0 + ${j}u < out) { applyRule(L.w + (i0 + ${i}u) * out + j0 + ${j}u, g${i}_${j}); }`),
    '}',
    '',
  ].join('\n');
}

const sources = new Map<string, string>();

/** The family file with a tiling's generated entry points appended (one module per tiling). */
function softwareSource(t: MlpTiling): string {
  const name = mlpTilingName(t);
  let s = sources.get(name);
  if (!s) {
    s = code + '\n' + mlpRowsSource(t) + '\n' + mlpUpdateSource(t);
    sources.set(name, s);
  }
  return s;
}

/** The row kernel's pipeline (the layout's variant; hardware without one). */
export function mlpRowsKernel(layout?: MlpLayout): KernelSpec {
  if (layout?.variant === 'software') return { family: 'mlp-step', code: softwareSource(layout.tiling!), entryPoint: 'mlp_rows_sw', variant: mlpTilingName(layout.tiling!) };
  return { family: 'mlp-step', code, entryPoint: 'mlp_rows' };
}

/** The update kernel's pipeline for one rule, or (writeGrad) the one that writes the gradient instead. */
export function mlpUpdateKernel(rule: MlpRule, writeGrad = false, layout?: MlpLayout): KernelSpec {
  const constants: Record<string, number | boolean> = { RULE: RULES.indexOf(rule) };
  if (writeGrad) constants.WRITE_GRAD = true;
  if (layout?.variant === 'software') return { family: 'mlp-step', code: softwareSource(layout.tiling!), entryPoint: 'mlp_update_sw', variant: mlpTilingName(layout.tiling!), constants };
  return { family: 'mlp-step', code, entryPoint: 'mlp_update', constants };
}

/** The resident dataset a fused step gathers its rows from: pixels as bytes (4 per u32 word) and labels. */
export interface MlpData {
  pixels: GpuTensor;
  labels: GpuTensor;
}

/**
 * Records mlp_rows: for each of the batch's rows (dataset rows indices[first ..]), the forward,
 * the softmax-with-loss and the backward, filed into scratch (see MlpLayout).
 */
export function mlpRowsGpu(ctx: GpuContext, layout: MlpLayout, data: MlpData, indices: GpuTensor, theta: GpuTensor, scratch: GpuTensor, first = 0): void {
  const widths = [layout.features, ...layout.layers.map((l) => l.outputs)].join('→');
  const software = layout.variant === 'software';
  ctx.dispatch({
    kernel: mlpRowsKernel(layout),
    params: params(layout, first),
    buffers: [data.pixels.buffer, data.labels.buffer, indices.buffer, theta.buffer, scratch.buffer],
    workgroups: software ? grid1d(layout.panels + layout.columnGroups, 1) : grid1d(layout.panels * WG, WG),
    shapes: `bytes, idx[${layout.batch}], θ[${layout.size}] (${widths}) → activations, gradients, losses[${layout.batch}]`,
  });
}

/**
 * Records mlp_update: every parameter's gradient summed over the batch from scratch, then the
 * rule in place on theta and state (slot s of the rule at state[s·size ..]), and the batch-mean
 * loss into `loss` [1]. With `grads` (then no state) it writes the gradient there instead and
 * moves nothing. The batch's rows are indices[first ..], as mlpRowsGpu's.
 */
export function mlpUpdateGpu(
  ctx: GpuContext,
  layout: MlpLayout,
  rule: MlpRule,
  hyper: OptimizerHyper,
  data: MlpData,
  indices: GpuTensor,
  theta: GpuTensor,
  scratch: GpuTensor,
  state: GpuTensor | undefined,
  loss: GpuTensor,
  grads?: GpuTensor,
  first = 0,
): void {
  const [lr, ...c] = rule === 'sgd' ? [hyper.lr] : optimizerUniform(rule, hyper);
  const firstLayer = layout.layers[0]!;
  ctx.dispatch({
    kernel: mlpUpdateKernel(rule, !!grads, layout),
    params: params(layout, first, lr, c),
    buffers: [data.pixels.buffer, undefined, indices.buffer, theta.buffer, scratch.buffer, (grads ?? state)?.buffer ?? ctx.placeholder, loss.buffer],
    workgroups: grid1d(layout.invocations, layout.variant === 'software' ? layout.tiling!.wgu : WG),
    shapes: grads
      ? `∇θ[${layout.size}] ← bytes x δ (${firstLayer.inputs}→…), loss`
      : `${rule}${rule === 'adam' ? ` t=${hyper.step}` : ''}: θ[${layout.size}]${state ? `, state${dims(state.shape)}` : ''} ← bytes x δ, loss`,
  });
}

/** What the float64 reference computes for one batch: the batch-mean loss and the gradient, packed as theta. */
export interface MlpStepResult {
  loss: number;
  grads: Float64Array;
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/**
 * The float64 reference of both kernels: for dataset rows `indices` (pixels as bytes, one per
 * value, normalized by 255), the loss and gradient of theta as mlp_rows and mlp_update (with
 * WRITE_GRAD) compute them.
 */
export function mlpGradientCpu(layout: MlpLayout, pixels: Uint8Array, labels: ArrayLike<number>, indices: ArrayLike<number>, theta: ArrayLike<number>): MlpStepResult {
  const grads = new Float64Array(layout.size);
  const L = layout.layers;
  let loss = 0;
  for (let n = 0; n < indices.length; n++) {
    const src = indices[n]!;
    const input = Float64Array.from(pixels.subarray(src * layout.features, (src + 1) * layout.features), (v) => v / 255);
    // Forward: the input of each layer, and the last logits.
    const ins: Float64Array[] = [input];
    let h = input;
    for (const layer of L) {
      const z = new Float64Array(layer.outputs);
      for (let j = 0; j < layer.outputs; j++) {
        let s = theta[layer.w + layer.inputs * layer.outputs + j]!;
        for (let i = 0; i < layer.inputs; i++) s += h[i]! * theta[layer.w + i * layer.outputs + j]!;
        z[j] = layer.activation === 'relu' ? Math.max(s, 0) : layer.activation === 'sigmoid' ? sigmoid(s) : s;
      }
      h = z;
      ins.push(z);
    }
    const mx = Math.max(...h);
    const e = Array.from(h, (v) => Math.exp(v - mx));
    const total = e.reduce((a, b) => a + b, 0);
    const t = labels[src]!;
    loss += -Math.log(e[t]! / total + 1e-7);
    let delta = Float64Array.from(e, (v, c) => (v / total - (c === t ? 1 : 0)) / indices.length);
    // Backward: layer l's gradients from its input and output gradient, then the gradient of its input.
    for (let l = L.length - 1; l >= 0; l--) {
      const layer = L[l]!;
      const x = ins[l]!;
      for (let i = 0; i < layer.inputs; i++) {
        for (let j = 0; j < layer.outputs; j++) grads[layer.w + i * layer.outputs + j]! += x[i]! * delta[j]!;
      }
      for (let j = 0; j < layer.outputs; j++) grads[layer.w + layer.inputs * layer.outputs + j]! += delta[j]!;
      if (l === 0) break;
      const prev = L[l - 1]!;
      const next = new Float64Array(layer.inputs);
      for (let i = 0; i < layer.inputs; i++) {
        let g = 0;
        for (let j = 0; j < layer.outputs; j++) g += delta[j]! * theta[layer.w + i * layer.outputs + j]!;
        const a = x[i]!;
        next[i] = prev.activation === 'relu' ? (a > 0 ? g : 0) : prev.activation === 'sigmoid' ? g * a * (1 - a) : g;
      }
      delta = next;
    }
  }
  return { loss: loss / indices.length, grads };
}

/**
 * The float64 reference of a whole fused step: the gradient, then the rule applied to theta
 * (and its state arrays, OPTIMIZER_SPEC order) in place. Returns the loss before the update.
 */
export function mlpStepCpu(
  layout: MlpLayout,
  rule: MlpRule,
  hyper: OptimizerHyper,
  pixels: Uint8Array,
  labels: ArrayLike<number>,
  indices: ArrayLike<number>,
  theta: Float64Array,
  state: readonly Float64Array[],
): number {
  const { loss, grads } = mlpGradientCpu(layout, pixels, labels, indices, theta);
  if (rule === 'sgd') {
    for (let k = 0; k < theta.length; k++) theta[k]! -= hyper.lr * grads[k]!;
  } else {
    optimizerCpu(rule, theta, grads, state, hyper);
  }
  return loss;
}
