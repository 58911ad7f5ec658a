import { CpuBackend, SimpleConvNet, SIMPLE_CONV_NET } from 'webgpu-backprop';

/**
 * The convnet every engine of the conv comparison trains: the book's SimpleConvNet (ch. 7) as its
 * train_convnet.py trains it: conv 30 filters 5x5, stride 1, pad 0 → ReLU → max pool 2x2 stride 2
 * → Affine 4320→100 → ReLU → Affine 100→10 → SoftmaxWithLoss, weights N(0, 0.01²) from the seed,
 * Adam with lr 0.001 (β1 0.9, β2 0.999), batch 100.
 */
export interface ConvSpec {
  batch: number;
  lr: number;
  seed: number;
}

export const CONV_BETA1 = 0.9;
export const CONV_BETA2 = 0.999;

/** The parameters in the net's order, with the book's names and our layouts (filters OIHW, NCHW flattening). */
export const CONV_PARAMS = [
  ['W1', [SIMPLE_CONV_NET.filterNum, 1, SIMPLE_CONV_NET.filterSize, SIMPLE_CONV_NET.filterSize]],
  ['b1', [SIMPLE_CONV_NET.filterNum]],
  ['W2', [SIMPLE_CONV_NET.filterNum * 12 * 12, SIMPLE_CONV_NET.hiddenSize]],
  ['b2', [SIMPLE_CONV_NET.hiddenSize]],
  ['W3', [SIMPLE_CONV_NET.hiddenSize, SIMPLE_CONV_NET.outputSize]],
  ['b3', [SIMPLE_CONV_NET.outputSize]],
] as const;

export type ConvParamName = (typeof CONV_PARAMS)[number][0];
export type ConvParams = Record<ConvParamName, Float32Array<ArrayBuffer>>;

/** How the net is described in reports. */
export const CONV_MODEL =
  'SimpleConvNet (the book\'s ch. 7): conv 30x5x5 stride 1 pad 0 → ReLU → max pool 2x2/2 → Affine 4320→100 → ReLU → Affine 100→10 → SoftmaxWithLoss; ' +
  'Adam (the book\'s: lr_t = lr·√(1−β2^t)/(1−β1^t), ε 1e-7 added to √v); weights N(0, 0.01²) from the seed, the same initial values for every engine';

/**
 * Multiply-adds ×2 of one SimpleConvNet step on our engine, which dominate it: the convolution
 * forward and its filter gradient (30·25 per output pixel each; the data batch's own gradient is
 * not computed), and the two Affine layers' forward, weight and input gradients.
 */
export function convStepFlops(batch: number): number {
  const conv = 2 * batch * 30 * 24 * 24 * 25;
  const affine = 2 * batch * (4320 * 100 + 100 * 10);
  return 2 * conv + 3 * affine;
}

/**
 * Our engine's own initial weights for the seed, read from a CPU SimpleConvNet, so every other
 * engine starts from exactly the same parameters rather than from its own initializer.
 */
export async function initialConvParams(seed: number): Promise<ConvParams> {
  const net = new SimpleConvNet(new CpuBackend('f32'), { seed });
  try {
    const params = net.params();
    const out: Partial<ConvParams> = {};
    for (const [i, [name, shape]] of CONV_PARAMS.entries()) {
      const p = params[i]!;
      if (p.name !== name || p.value.shape.join() !== shape.join()) {
        throw new Error(`SimpleConvNet's parameter ${i} is ${p.name} [${p.value.shape.join(', ')}], the bench expects ${name} [${shape.join(', ')}]`);
      }
      out[name] = Float32Array.from(await net.backend.read(p.value));
    }
    return out as ConvParams;
  } finally {
    net.dispose();
  }
}

/** The book's Adam step size at update t (counted from 1). */
export function adamLrT(lr: number, t: number, beta1 = CONV_BETA1, beta2 = CONV_BETA2): number {
  return (lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
}
