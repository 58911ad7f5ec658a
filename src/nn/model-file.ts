import type { Backend } from '../backend/backend.js';
import { decodeSafetensors, encodeSafetensors, expectTensors } from '../io/safetensors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { OptimizerState } from '../train/optimizer.js';
import type { NamedTensor } from './layer.js';
import { Convolution, Pooling } from './conv-layers.js';
import { bookLayers } from './conv-relu-pool.js';
import { MultiLayerNet } from './multi-layer-net.js';
import { Sequential } from './sequential.js';

/** What a model file is written from and loaded into: any net's named tensors and the backend that holds them. */
export interface ModelTensors<T extends Tensor> {
  readonly backend: Backend<T>;
  tensors(): NamedTensor<T>[];
}

/**
 * Weights as safetensors: F32 tensors named W1, b1, W2, … like the book's params dict (plus
 * gamma, beta and the running statistics of BatchNorm layers), and the architecture in the
 * metadata so a reader knows what net they belong to.
 */
export async function saveModel<T extends Tensor>(net: ModelTensors<T>, extra: Record<string, string> = {}): Promise<Uint8Array> {
  return encodeModel(net, await readTensors(net), extra);
}

/** The values of `net.tensors()`, in that order, as float32 on the CPU. */
export function readTensors<T extends Tensor>(net: ModelTensors<T>): Promise<Float32Array[]> {
  return Promise.all(net.tensors().map(async (p) => Float32Array.from(await net.backend.read(p.value))));
}

/** Optimizer state tensors in a checkpoint are named `optimizer.<param>.<state>`, e.g. `optimizer.W1.m`. */
const OPTIMIZER_PREFIX = 'optimizer.';

/**
 * As saveModel, from values already on the CPU (in `net.tensors()` order); a checkpoint also
 * carries the optimizer's state.
 */
export function encodeModel<T extends Tensor>(
  net: ModelTensors<T>,
  values: Float32Array[],
  extra: Record<string, string> = {},
  optimizer?: OptimizerState,
): Uint8Array {
  const tensors = net.tensors().map((p, i) => ({ name: p.name, shape: [...p.value.shape], data: values[i]! }));
  if (optimizer) {
    for (const [name, data] of Object.entries(optimizer.tensors)) tensors.push({ name: OPTIMIZER_PREFIX + name, shape: [data.length], data });
    extra = { ...extra, optimizer_step: String(optimizer.step) };
  }
  return encodeSafetensors(tensors, { format: 'webgpu-backprop', ...architecture(net), ...extra });
}

/**
 * How the tensors are laid out, for a reader in another framework: a convolution's W is
 * [out, in, kh, kw] as PyTorch's Conv2d.weight; an Affine's W is [in, out] as the book's x·W,
 * the transpose of PyTorch's Linear.weight; images are NCHW, flattened per sample in C, H, W order.
 */
const LAYOUT = 'Convolution W [out, in, kh, kw] (PyTorch Conv2d.weight); Affine W [in, out] (y = x·W, the transpose of PyTorch Linear.weight); NCHW, flattened in C, H, W order';

/**
 * As much of the net's architecture as it tells: a MultiLayerNet its config, another Sequential
 * its layers' names and convolution and pooling settings, and its input shape.
 */
function architecture<T extends Tensor>(net: ModelTensors<T>): Record<string, string> {
  if (net instanceof MultiLayerNet) {
    const c = net.config;
    return { layer_sizes: net.layerSizes().join(','), activation: c.activation, batch_norm: String(c.batchNorm), dropout_ratio: String(c.dropoutRatio) };
  }
  if (!(net instanceof Sequential)) return {};
  const layers = bookLayers(net.layers).map((l) => {
    if (l instanceof Convolution) return `${l.name}(stride=${l.args.stride},pad=${l.args.pad})`;
    if (l instanceof Pooling) return `${l.name}(${l.args.poolH}x${l.args.poolW},stride=${l.args.stride},pad=${l.args.pad})`;
    return l.name;
  });
  return { layers: layers.join(','), layout: LAYOUT, ...(net.inputShape ? { input_shape: net.inputShape.join(',') } : {}) };
}

/**
 * Loads weights into `net`, refusing files whose tensors do not fit its parameters. Returns the
 * file's metadata (a checkpoint keeps its step and RNG state there).
 */
export function loadModel<T extends Tensor>(net: ModelTensors<T>, bytes: Uint8Array, source: string): Record<string, string> {
  const decoded = decodeSafetensors(bytes, source);
  const params = net.tensors();
  const weights = new Map([...decoded.tensors].filter(([name]) => !name.startsWith(OPTIMIZER_PREFIX)));
  expectTensors({ ...decoded, tensors: weights }, params.map((p) => ({ name: p.name, shape: [...p.value.shape] })), source);
  for (const p of params) net.backend.write(p.value, decoded.tensors.get(p.name)!.data);
  return decoded.metadata;
}

/** The optimizer state a checkpoint carries, or undefined for a plain model file. */
export function readOptimizerState(bytes: Uint8Array, source: string): OptimizerState | undefined {
  const decoded = decodeSafetensors(bytes, source);
  const step = decoded.metadata.optimizer_step;
  if (step === undefined) return undefined;
  const tensors: Record<string, Float32Array> = {};
  for (const [name, t] of decoded.tensors) if (name.startsWith(OPTIMIZER_PREFIX)) tensors[name.slice(OPTIMIZER_PREFIX.length)] = t.data;
  return { step: Number(step), tensors };
}
