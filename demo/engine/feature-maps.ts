/**
 * One image through a convnet, keeping what its first layers made of it: the feature maps after
 * Conv1 (one per filter), after Relu1 and after Pool1, and the class probabilities, all from one
 * forward pass of the net itself (the layers keep their last output: Convolution.lastOutput,
 * Pooling.lastOutput, or ConvReluPool.lastOutput, beside which Conv1's maps take one convolution
 * of the image). Every read is recorded right after the forward, before anything else can
 * be recorded, so a training step that runs next cannot change what is read.
 */
import { Affine, Relu, type Sequential, type Tensor } from 'webgpu-backprop';
import { firstConvStages } from './nets.js';

export interface MapStage {
  /** The layer's name in the net: 'Conv1', 'Relu1', 'Pool1'. */
  layer: string;
  channels: number;
  height: number;
  width: number;
  /** channels × height × width values, map after map. */
  values: Float32Array;
}

export interface FeatureMaps {
  /** Conv1, Relu1, Pool1. */
  stages: MapStage[];
  /** The ReLU masks of the fully connected hidden layers (SimpleConvNet: Relu2, 100 units). */
  hidden: { layer: string; mask: Float32Array }[];
  probs: Float32Array;
}

export async function featureMaps<T extends Tensor>(net: Sequential<T>, input: Float32Array): Promise<FeatureMaps> {
  const first = firstConvStages(net);
  if (!first) throw new Error('featureMaps: the net has no convolution followed by a ReLU and a pooling layer');
  const be = net.backend;
  const x = be.fromArray(input, [1, input.length]);
  let probs: T | undefined;
  let convOut: T | undefined;
  try {
    probs = be.softmax(net.predict(x));
    // A fused block never stores Conv1's output: one convolution of the image gives it (the
    // same op, so the same numbers, as the unfused layer's).
    const { conv: c, fused } = first;
    if (fused && net.inputShape) convOut = be.convForward(be.reshape(x, [1, ...net.inputShape]), c.W.value, c.b.value, c.args);
    const conv = fused ? convOut! : first.conv.lastOutput!;
    const pool = fused ? fused.lastOutput! : first.pool.lastOutput!;
    const afterAffine = net.layers.findIndex((l) => l instanceof Affine);
    const hiddenRelus = afterAffine < 0 ? [] : net.layers.slice(afterAffine).filter((l): l is Relu<T> => l instanceof Relu);
    // All reads recorded now, in one go (see the header).
    const [convValues, poolValues, probValues, ...masks] = await Promise.all([
      be.read(conv),
      be.read(pool),
      be.read(probs),
      ...hiddenRelus.map((r) => be.read(r.lastMask!)),
    ]);
    const [, channels, height, width] = conv.shape as [number, number, number, number];
    const [, poolChannels, poolH, poolW] = pool.shape as [number, number, number, number];
    const convMaps = Float32Array.from(convValues!);
    // Relu1's output is max(z, 0) of Conv1's: the same numbers Relu.forward computes.
    const reluMaps = convMaps.map((v) => (v > 0 ? v : 0));
    return {
      stages: [
        { layer: first.conv.name, channels, height, width, values: convMaps },
        { layer: first.relu.name, channels, height, width, values: reluMaps },
        { layer: first.pool.name, channels: poolChannels, height: poolH, width: poolW, values: Float32Array.from(poolValues!) },
      ],
      hidden: hiddenRelus.map((r, i) => ({ layer: r.name, mask: Float32Array.from(masks[i]!) })),
      probs: Float32Array.from(probValues!),
    };
  } finally {
    be.dispose(x, probs, convOut);
  }
}
