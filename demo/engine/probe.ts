/**
 * What each layer does with one image: the pre-activation z = h·W + b of every hidden layer, the
 * ReLU mask (1 where z > 0, what Relu.backward multiplies the gradient by) and the activation.
 * The layers keep these privately (only Relu.lastMask is public), so the probe recomputes them
 * with the same backend ops the layers use, on the net's own weights.
 */
import type { MultiLayerNet } from '../../src/nn/multi-layer-net.js';
import type { Tensor } from '../../src/tensor/tensor.js';

export interface HiddenActivity {
  /** Pre-activation x·W + b. */
  z: Float32Array;
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
    const reads: { z: T; mask?: T; h: T }[] = [];
    const last = net.affines.length - 1;
    let logits: T | undefined;
    net.affines.forEach((affine, i) => {
      const z = keep(be.matmul(h, affine.W.value, { bias: affine.b.value }));
      if (i === last) {
        logits = z;
        return;
      }
      if (net.config.activation === 'relu') {
        const { y, mask } = be.reluForward(z);
        reads.push({ z, mask: keep(mask), h: keep(y) });
        h = y;
      } else {
        h = keep(be.sigmoidForward(z));
        reads.push({ z, h });
      }
    });
    const probs = keep(be.softmax(logits!));
    const f32 = async (t: T) => Float32Array.from(await be.read(t));
    const hidden = await Promise.all(
      reads.map(async (r) => ({ z: await f32(r.z), mask: r.mask && (await f32(r.mask)), h: await f32(r.h) })),
    );
    return { hidden, probs: await f32(probs) };
  } finally {
    be.dispose(...owned);
  }
}
