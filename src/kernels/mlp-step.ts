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
  /** mlp_update's invocations for this layer: blocks of 4 inputs x 4 outputs (the bias a last row of blocks), the first at `block`. */
  block: number;
  blocks: number;
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
}

/**
 * The packed layout of a net of Affine layers `widths[0] → widths[1] → … → widths[L]` with the
 * given activations after each hidden layer, for batches of `batch` rows. Refuses what the
 * kernels cannot hold (more than 8 layers, a layer wider than 1,024).
 */
export function mlpLayout(widths: readonly number[], activations: readonly MlpActivation[], batch: number): MlpLayout {
  const count = widths.length - 1;
  if (count < 1 || count > MLP_MAX_LAYERS) throw new ShapeError(`mlp-step: ${count} Affine layers; the fused step takes 1 to ${MLP_MAX_LAYERS}`);
  if (activations.length !== count - 1) throw new ShapeError(`mlp-step: ${count} Affine layers need ${count - 1} activations between them, got ${activations.length}`);
  for (const w of widths) if (!Number.isInteger(w) || w < 1) throw new ShapeError(`mlp-step: layer width ${w} is not a positive integer`);
  for (const w of widths.slice(1)) {
    if (w > MLP_MAX_WIDTH) throw new ShapeError(`mlp-step: a layer of ${w} outputs; the fused step takes at most ${MLP_MAX_WIDTH} (two layers of 4 rows fill 16 KiB of workgroup memory)`);
  }
  if (widths[0]! % 4 !== 0) throw new ShapeError(`mlp-step: ${widths[0]} input features; the fused step reads the dataset's bytes a word (4 features) at a time and needs a multiple of 4`);
  if (!Number.isInteger(batch) || batch < 1) throw new ShapeError(`mlp-step: batch size ${batch} is not a positive integer`);
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
    const blocks = (Math.ceil(inputs / 4) + 1) * Math.ceil(outputs / 4);
    layers.push({ inputs, outputs, w: theta, activation: hidden ? activations[l] : undefined, a, d, block, blocks });
    theta += inputs * outputs + outputs;
    block += blocks;
  }
  return { batch, features: widths[0]!, layers, size: theta, invocations: block + 1, losses: scratch, scratch: scratch + batch };
}

/** The uniform Params of shaders/mlp-step.wgsl. */
function params(layout: MlpLayout, lr = 0, c: readonly number[] = []): number[] {
  const words = [layout.batch, layout.layers.length, layout.features, layout.size, layout.losses, f32bits(1 / layout.batch), f32bits(lr), f32bits(c[0] ?? 0), f32bits(c[1] ?? 0), f32bits(c[2] ?? 0), 0, 0];
  for (let l = 0; l < MLP_MAX_LAYERS; l++) {
    const L = layout.layers[l];
    const act = L?.activation === 'relu' ? 1 : L?.activation === 'sigmoid' ? 2 : 0;
    words.push(...(L ? [L.inputs, L.outputs, L.w, act, L.a, L.d, L.block, L.blocks] : [0, 0, 0, 0, 0, 0, 0, 0]));
  }
  return words;
}

/** The row kernel's pipeline. */
export function mlpRowsKernel(): KernelSpec {
  return { family: 'mlp-step', code, entryPoint: 'mlp_rows' };
}

/** The update kernel's pipeline for one rule, or (writeGrad) the one that writes the gradient instead. */
export function mlpUpdateKernel(rule: MlpRule, writeGrad = false): KernelSpec {
  const constants: Record<string, number | boolean> = { RULE: RULES.indexOf(rule) };
  if (writeGrad) constants.WRITE_GRAD = true;
  return { family: 'mlp-step', code, entryPoint: 'mlp_update', constants };
}

/** The resident dataset a fused step gathers its rows from: pixels as bytes (4 per u32 word) and labels. */
export interface MlpData {
  pixels: GpuTensor;
  labels: GpuTensor;
}

/**
 * Records mlp_rows: for each of the batch's rows (dataset rows `indices`), the forward, the
 * softmax-with-loss and the backward, filed into scratch (see MlpLayout).
 */
export function mlpRowsGpu(ctx: GpuContext, layout: MlpLayout, data: MlpData, indices: GpuTensor, theta: GpuTensor, scratch: GpuTensor): void {
  const widths = [layout.features, ...layout.layers.map((l) => l.outputs)].join('→');
  ctx.dispatch({
    kernel: mlpRowsKernel(),
    params: params(layout),
    buffers: [data.pixels.buffer, data.labels.buffer, indices.buffer, theta.buffer, scratch.buffer],
    workgroups: grid1d(Math.ceil(layout.batch / ROWS_PER_GROUP) * WG, WG),
    shapes: `bytes, idx[${layout.batch}], θ[${layout.size}] (${widths}) → activations, gradients, losses[${layout.batch}]`,
  });
}

/**
 * Records mlp_update: every parameter's gradient summed over the batch from scratch, then the
 * rule in place on theta and state (slot s of the rule at state[s·size ..]), and the batch-mean
 * loss into `loss` [1]. With `grads` (then no state) it writes the gradient there instead and
 * moves nothing.
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
): void {
  const [lr, ...c] = rule === 'sgd' ? [hyper.lr] : optimizerUniform(rule, hyper);
  const first = layout.layers[0]!;
  ctx.dispatch({
    kernel: mlpUpdateKernel(rule, !!grads),
    params: params(layout, lr, c),
    buffers: [data.pixels.buffer, undefined, indices.buffer, theta.buffer, scratch.buffer, (grads ?? state)?.buffer ?? ctx.placeholder, loss.buffer],
    workgroups: grid1d(layout.invocations, WG),
    shapes: grads
      ? `∇θ[${layout.size}] ← bytes x δ (${first.inputs}→…), loss`
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
