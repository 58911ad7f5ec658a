/**
 * What each layer does with one image: the pre-activation z = h·W + b of every hidden layer, its
 * BatchNorm output where the net has BatchNorm, the ReLU mask (1 where the activation's input
 * > 0, what Relu.backward multiplies the gradient by) and the activation. The layers keep these
 * privately (only Relu.lastMask is public), so the probe recomputes them with the same backend
 * ops the layers use at inference, on the net's own weights and running statistics; calling the
 * layers instead would hand out tensors the next training step disposes.
 */
import type { MultiLayerNet } from '../../src/nn/multi-layer-net.js';
import type { Tensor } from '../../src/tensor/tensor.js';

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

export async function probe<T extends Tensor>(net: MultiLayerNet<T>, input: Float32Array): Promise<Probe> {
  const be = net.backend;
  const owned: T[] = [];
  const keep = <U extends T>(t: U): U => (owned.push(t), t);
  try {
    let h = keep(be.fromArray(input, [1, net.config.inputSize]));
    const reads: { z: T; normalized?: T; mask?: T; h: T }[] = [];
    const last = net.affines.length - 1;
    let logits: T | undefined;
    net.affines.forEach((affine, i) => {
      const z = keep(be.matmul(h, affine.W.value, { bias: affine.b.value }));
      if (i === last) {
        logits = z;
        return;
      }
      const bn = net.batchNorms[i];
      const normalized = bn ? keep(be.batchNormInference(z, bn.gamma.value, bn.beta.value, bn.running, bn.hyper)) : undefined;
      const actIn = normalized ?? z;
      if (net.config.activation === 'relu') {
        const { y, mask } = be.reluForward(actIn);
        reads.push({ z, normalized, mask: keep(mask), h: keep(y) });
        h = y;
      } else {
        h = keep(be.sigmoidForward(actIn));
        reads.push({ z, normalized, h });
      }
      // Dropout at inference scales every unit by (1 − ratio); the next layer sees that.
      const dropout = net.dropouts[i];
      if (dropout) h = keep(be.dropoutInference(h, dropout.ratio));
    });
    const probs = keep(be.softmax(logits!));
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
