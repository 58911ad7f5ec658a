/**
 * Class probabilities from the training net: softmax of its scores, read back. Used by the
 * drawing pad, the strip of test images and the activations panel; forward passes here change
 * nothing the next training step depends on (each step runs its own forward first).
 */
import type { Dataset, Sequential, Tensor } from 'webgpu-backprop';

/** rows × 10 probabilities for rows × 784 inputs in [0, 1]. */
export async function classify<T extends Tensor>(net: Sequential<T>, inputs: Float32Array, rows: number): Promise<Float32Array> {
  const be = net.backend;
  const x = be.fromArray(inputs, [rows, inputs.length / rows]);
  try {
    return await probabilities(net, x);
  } finally {
    be.dispose(x);
  }
}

/** Probabilities for rows start .. start + count of a dataset (the GPU gathers them itself), in chunks the net fits. */
export async function classifyRange<T extends Tensor>(net: Sequential<T>, data: Dataset<T>, start: number, count: number): Promise<Float32Array> {
  // Smaller for a convnet, whose activations are large.
  const chunk = net.evalChunk;
  const out = new Float32Array(count * net.outputSize);
  const reads: Promise<void>[] = [];
  for (let from = 0; from < count; from += chunk) {
    const rows = Math.min(chunk, count - from);
    const { x, t } = data.range(start + from, rows);
    // Each chunk's read is recorded now; the next chunk may then reuse its buffers.
    reads.push(probabilities(net, x).then((p) => out.set(p, from * net.outputSize)));
    net.backend.dispose(x, t);
  }
  await Promise.all(reads);
  return out;
}

async function probabilities<T extends Tensor>(net: Sequential<T>, x: T): Promise<Float32Array> {
  const be = net.backend;
  const probs = be.softmax(net.predict(x));
  try {
    return Float32Array.from(await be.read(probs));
  } finally {
    be.dispose(probs);
  }
}

export function argmaxRow(probs: ArrayLike<number>, row: number, classes = 10): number {
  let best = 0;
  for (let c = 1; c < classes; c++) if (probs[row * classes + c]! > probs[row * classes + best]!) best = c;
  return best;
}
