/**
 * What each layer does with one image: the pre-activation z = h·W + b of every hidden layer, its
 * BatchNorm output where the net has BatchNorm, the ReLU mask (1 where the activation's input
 * > 0, what Relu.backward multiplies the gradient by) and the activation. The layers keep these
 * privately (only Relu.lastMask is public), so the probe recomputes them with the same backend
 * ops the layers use at inference, on the net's own weights and running statistics; calling the
 * layers instead would hand out tensors the next training step disposes.
 */
import { Affine, BatchNorm, Dropout, Relu, Sigmoid, type Sequential, type Tensor } from 'webgpu-backprop';

export interface HiddenActivity {
  /** Pre-activation x·W + b. */
  z: Float32Array;
  /** BatchNorm's output at inference (what the activation sees), where the net has BatchNorm. */
  normalized: Float32Array | undefined;
  /** ReLU: 1 where z > 0. Sigmoid: none (its backward multiplies by y(1 - y) instead). */
  mask: Float32Array | undefined;
  /** The activation's output. */
  h: Float32Array;
}

export interface Probe {
  hidden: HiddenActivity[];
  probs: Float32Array;
}

/** An MLP's layers (a convnet's first layers: see feature-maps.ts). */
export async function probe<T extends Tensor>(net: Sequential<T>, input: Float32Array): Promise<Probe> {
  const be = net.backend;
  const owned: T[] = [];
  const keep = <U extends T>(t: U): U => (owned.push(t), t);
  try {
    let h = keep(be.fromArray(input, [1, input.length]));
    const reads: { z: T; normalized?: T; mask?: T; h: T }[] = [];
    // The hidden layer being walked: its pre-activation, and its BatchNorm output if it has one.
    let z: T | undefined;
    let normalized: T | undefined;
    for (const layer of net.layers) {
      if (layer instanceof Affine) {
        h = z = keep(be.matmul(h, layer.W.value, { bias: layer.b.value }));
        normalized = undefined;
      } else if (layer instanceof BatchNorm) {
        h = normalized = keep(be.batchNormInference(h, layer.gamma.value, layer.beta.value, layer.running, layer.hyper));
      } else if (layer instanceof Relu) {
        const { y, mask } = be.reluForward(h);
        reads.push({ z: z!, normalized, mask: keep(mask), h: keep(y) });
        h = y;
      } else if (layer instanceof Sigmoid) {
        h = keep(be.sigmoidForward(h));
        reads.push({ z: z!, normalized, h });
      } else if (layer instanceof Dropout) {
        // Dropout at inference scales every unit by (1 − ratio); the next layer sees that.
        h = keep(be.dropoutInference(h, layer.ratio));
      } else {
        throw new Error(`probe: no probe for a layer like ${layer.name}`);
      }
    }
    // After the last Affine, h holds the logits.
    const probs = keep(be.softmax(h));
    const f32 = async (t: T) => Float32Array.from(await be.read(t));
    const hidden = await Promise.all(
      reads.map(async (r) => ({
        z: await f32(r.z),
        normalized: r.normalized && (await f32(r.normalized)),
        mask: r.mask && (await f32(r.mask)),
        h: await f32(r.h),
      })),
    );
    return { hidden, probs: await f32(probs) };
  } finally {
    be.dispose(...owned);
  }
}
