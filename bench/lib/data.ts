import { MNIST_COLS, MNIST_ROWS, Rng, sampleIndices, type Mnist, type MnistSplit } from 'webgpu-backprop';

export type DataSource = 'mnist' | 'synthetic';

export interface BenchData {
  source: DataSource;
  mnist: Mnist;
}

/**
 * A stand-in with MNIST's shapes (28x28 bytes, 10 classes, 60000/10000 images) for machines
 * without the MNIST files. Each class is a fixed random stroke pattern with per-image noise, so
 * a net learns it and the accuracy after a run still shows the engine trains; it says nothing
 * about MNIST accuracy.
 */
export function syntheticMnist(seed: number, trainCount = 60_000, testCount = 10_000): Mnist {
  const rng = new Rng(seed);
  const pixels = MNIST_ROWS * MNIST_COLS;
  const prototypes = Array.from({ length: 10 }, () => {
    const on = new Uint8Array(pixels);
    for (let i = 0; i < pixels; i++) on[i] = rng.next() < 0.2 ? 1 : 0;
    return on;
  });
  const split = (count: number): MnistSplit => {
    const images = new Uint8Array(count * pixels);
    const labels = new Uint8Array(count);
    for (let n = 0; n < count; n++) {
      const label = rng.int(10);
      labels[n] = label;
      const proto = prototypes[label]!;
      const base = n * pixels;
      // Four noise bytes per draw: generating 47 MB stays well under a second.
      for (let i = 0; i < pixels; i += 4) {
        const r = rng.nextU32();
        for (let k = 0; k < 4 && i + k < pixels; k++) {
          const noise = (r >>> (8 * k)) & 0x7f;
          images[base + i + k] = proto[i + k] ? 255 - noise : noise >> 1;
        }
      }
    }
    return { count, rows: MNIST_ROWS, cols: MNIST_COLS, pixels: images, labels };
  };
  return { train: split(trainCount), test: split(testCount) };
}

/** The synthetic set a run uses: full MNIST sizes, or small ones for a quick run. */
export function syntheticData(seed: number, quick: boolean): BenchData {
  return { source: 'synthetic', mnist: quick ? syntheticMnist(seed, 2_000, 1_000) : syntheticMnist(seed) };
}

/**
 * The minibatch rows of every step, drawn once up front from the seed (as the book's
 * np.random.choice), so every engine trains on the same batches in the same order and drawing
 * them is never part of a timing.
 */
export function batchSchedule(seed: number, trainCount: number, batch: number, steps: number): Uint32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: steps }, () => sampleIndices(rng, trainCount, batch));
}

/** Pixels as floats in [0, 1] (the book's normalize=True), for engines that keep floats on the device. */
export function normalized(split: MnistSplit): Float32Array<ArrayBuffer> {
  const out = new Float32Array(split.pixels.length);
  for (let i = 0; i < out.length; i++) out[i] = split.pixels[i]! / 255;
  return out;
}
