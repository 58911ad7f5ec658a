/**
 * How well a net recognizes digits that are not where MNIST puts them: each net trains on the
 * usual (centred) training set, then is scored on the test set with every image moved by d
 * pixels, in each of the four directions. A fully connected net has no notion of neighbouring
 * pixels, so a shifted digit is a new input to it; a convnet's filters slide, and its pooling
 * forgives a pixel or two.
 */
import type { Backend } from '../backend/backend.js';
import type { Dataset } from '../data/dataset.js';
import type { MnistSplit } from '../data/mnist.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LearningProblem } from '../train/learning-check.js';
import { createOptimizer } from '../train/optimizer.js';
import { createNet, NET_NAMES, netDefaults, RUN_DEFAULTS, type NetKind, type RunSettings } from '../train/run-settings.js';
import { Trainer } from '../train/trainer.js';

/** The shifts of the published table, in pixels. */
export const SHIFTS = [0, 2, 4, 6] as const;

/**
 * Epochs each net trains for by default: about the same accuracy on centred digits (the MLP
 * ~0.95 after 5 epochs of SGD, SimpleConvNet ~0.96 after 1 of Adam), so the table compares how
 * each holds up when the digits move, not how long each trained.
 */
export const SHIFT_EPOCHS: Readonly<Record<NetKind, number>> = { mlp: 5, 'simple-conv': 1, 'deep-conv': 1 };

/** The four directions a digit moves in: [down, right] per pixel. */
const DIRECTIONS: readonly [number, number][] = [
  [0, 1],
  [0, -1],
  [1, 0],
  [-1, 0],
];

/** Every image moved `dy` rows down and `dx` columns right (negative: up, left); zeros come in. */
export function shiftSplit(split: MnistSplit, dy: number, dx: number): MnistSplit {
  const { count, rows, cols } = split;
  const pixels = new Uint8Array(split.pixels.length);
  for (let n = 0; n < count; n++) {
    const base = n * rows * cols;
    for (let r = Math.max(0, dy); r < Math.min(rows, rows + dy); r++) {
      const from = base + (r - dy) * cols;
      const to = base + r * cols;
      for (let c = Math.max(0, dx); c < Math.min(cols, cols + dx); c++) pixels[to + c] = split.pixels[from + c - dx]!;
    }
  }
  return { ...split, pixels };
}

/** One net's result: test accuracy at each shift (the mean over the four directions). */
export interface ShiftResult {
  net: NetKind;
  name: string;
  /** How it was trained, in words. */
  training: string;
  accuracy: number[];
  /** Per shift, the accuracy in each direction: right, left, down, up. */
  byDirection: number[][];
  learning: LearningProblem | null;
}

/** What the experiment needs to make datasets on its backend. */
export type DatasetOf<T extends Tensor> = (split: MnistSplit) => Dataset<T>;

/**
 * Trains `net` for `epochs` epochs of batch 100 with its usual optimizer (the MLP: SGD lr 0.1;
 * a convnet: Adam lr 0.001), then scores it on the test set shifted by each of SHIFTS.
 */
export async function shiftAccuracy<T extends Tensor>(
  backend: Backend<T>,
  dataset: DatasetOf<T>,
  mnist: { train: MnistSplit; test: MnistSplit },
  net: NetKind,
  epochs: number,
  onProgress?: (line: string) => void,
): Promise<ShiftResult> {
  const settings: RunSettings = { ...RUN_DEFAULTS, ...netDefaults(net), net };
  const model = createNet(backend, settings, [mnist.train.rows, mnist.train.cols]);
  const train = dataset(mnist.train);
  const test = dataset(mnist.test);
  const optimizer = createOptimizer(backend, settings.optimizer, settings.lr);
  const trainer = new Trainer(model, train, test, optimizer);
  const steps = epochs * Math.floor(mnist.train.count / settings.batch);
  const result = await trainer.run(
    { steps, batchSize: settings.batch, seed: settings.seed, readEvery: 50, evalEvery: 0 },
    { onProgress: (done, loss) => done % 200 === 0 && onProgress?.(`  ${net}: step ${done}/${steps}, loss ${loss.toFixed(4)}`) },
  );
  const accuracy: number[] = [];
  const byDirection: number[][] = [];
  for (const shift of SHIFTS) {
    const directions = shift === 0 ? [[0, 0] as [number, number]] : DIRECTIONS;
    const accs: number[] = [];
    for (const [dy, dx] of directions) {
      const shifted = dataset(shiftSplit(mnist.test, dy * shift, dx * shift));
      accs.push(await trainer.evaluate(shifted, model.evalChunk));
      shifted.dispose();
    }
    byDirection.push(accs);
    accuracy.push(accs.reduce((a, b) => a + b, 0) / accs.length);
    onProgress?.(`  ${net}: shift ${shift} px, test accuracy ${accuracy.at(-1)!.toFixed(4)}`);
  }
  model.dispose();
  train.dispose();
  test.dispose();
  const name = net === 'mlp' ? 'TwoLayerNet 784-50-10' : NET_NAMES[net];
  return {
    net,
    name,
    training: `${epochs} epoch${epochs === 1 ? '' : 's'} (${steps} steps of batch ${settings.batch}), ${settings.optimizer} lr ${settings.lr}, centred MNIST`,
    accuracy,
    byDirection,
    learning: result.learning,
  };
}
