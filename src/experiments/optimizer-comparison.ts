/**
 * The book's optimizer comparison (ch. 6.1.8): a 5-layer net of 100 ReLU units on MNIST, the
 * same initial weights and minibatches for each optimizer, the loss of every step. The book's
 * finding: SGD falls slowest; AdaGrad and Adam fastest.
 */
import type { Backend } from '../backend/backend.js';
import type { Dataset } from '../data/dataset.js';
import { MultiLayerNet } from '../nn/multi-layer-net.js';
import type { Tensor } from '../tensor/tensor.js';
import { createOptimizer, type OptimizerName } from '../train/optimizer.js';
import type { LearningProblem } from '../train/learning-check.js';
import { Trainer } from '../train/trainer.js';

/** The book's optimizers and learning rates for this experiment (optimizer_compare_mnist.py). */
export const COMPARED: readonly [OptimizerName, number][] = [
  ['sgd', 0.01],
  ['momentum', 0.01],
  ['adagrad', 0.01],
  ['adam', 0.001],
];

/** One optimizer's run: its loss per step and the test accuracy at the end. */
export interface OptimizerCurve {
  optimizer: OptimizerName;
  lr: number;
  losses: number[];
  testAcc: number;
  /** Why the run did not learn, if it did not (Trainer's check); null when it did. */
  learning: LearningProblem | null;
}

/** What `npm run experiment -- optimizers` writes to <date>-optimizers.json. */
export interface OptimizerComparisonResult {
  experiment: 'optimizers';
  /** YYYY-MM-DD */
  date: string;
  device: 'gpu' | 'cpu';
  adapter: string;
  steps: number;
  batch: number;
  net: string;
  curves: OptimizerCurve[];
}

/** For a caller that shows the comparison as it runs (the demo page); the CLI needs none. */
export interface ComparisonOptions {
  /** Steps per loss readback (default 50, as the CLI). 1 hands `onProgress` every step's loss. */
  readEvery?: number;
  /** Asked before every step; true ends the comparison there, returning the curves finished. */
  shouldStop?(): boolean;
}

/**
 * The book's optimizer comparison (ch. 6.1.8): each optimizer from the same weights over the same
 * minibatches.
 */
export async function compareOptimizers<T extends Tensor>(
  backend: Backend<T>,
  train: Dataset<T>,
  test: Dataset<T>,
  steps: number,
  /** After each readback: the steps done and the loss of the last of them. */
  onProgress: (optimizer: OptimizerName, done: number, loss: number) => void = () => {},
  options: ComparisonOptions = {},
): Promise<OptimizerCurve[]> {
  const curves: OptimizerCurve[] = [];
  for (const [name, lr] of COMPARED) {
    // Same seed: the same initial weights and the same minibatches for every optimizer.
    const net = new MultiLayerNet(backend, { hiddenSizes: [100, 100, 100, 100], activation: 'relu', weightInit: 'he', seed: 7 });
    const optimizer = createOptimizer(backend, name, lr);
    try {
      const trainer = new Trainer(net, train, test, optimizer);
      // Only the test accuracy is reported, once at the end: no evaluations during the run.
      const result = await trainer.run(
        { steps, batchSize: 128, seed: 7, readEvery: options.readEvery ?? 50, evalEvery: 0 },
        { onProgress: (done, loss) => onProgress(name, done, loss), shouldStop: options.shouldStop },
      );
      if (result.stoppedAt !== undefined) break;
      curves.push({ optimizer: name, lr, losses: Array.from(result.losses), testAcc: await trainer.evaluate(test), learning: result.learning });
    } finally {
      optimizer.dispose();
      net.dispose();
    }
  }
  return curves;
}

/** Mean of the last `n` losses: a curve's level at the end, free of minibatch noise. */
export function finalLevel(curve: OptimizerCurve, n = 100): number {
  const tail = curve.losses.slice(-n);
  return tail.reduce((a, b) => a + b, 0) / tail.length;
}
