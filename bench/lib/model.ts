import { CpuBackend, MultiLayerNet } from 'webgpu-backprop';

/** The net every engine trains: the book's TwoLayerNet, 784-hidden-10, ReLU, N(0, 0.01²) weights. */
export interface ModelSpec {
  hidden: number;
  lr: number;
  seed: number;
}

export interface InitialParams {
  W1: Float32Array<ArrayBuffer>;
  b1: Float32Array<ArrayBuffer>;
  W2: Float32Array<ArrayBuffer>;
  b2: Float32Array<ArrayBuffer>;
}

/**
 * Our engine's own initial weights for the seed, read from a CPU net, so the peers start from
 * exactly the same parameters rather than from their own initializers.
 */
export async function initialParams(spec: ModelSpec): Promise<InitialParams> {
  const net = new MultiLayerNet(new CpuBackend('f32'), { hiddenSizes: [spec.hidden], seed: spec.seed });
  const values = await Promise.all(net.params().map((p) => net.backend.read(p.value)));
  const [W1, b1, W2, b2] = values.map((v) => Float32Array.from(v));
  return { W1: W1!, b1: b1!, W2: W2!, b2: b2! };
}
