/**
 * The book's overfitting experiment and its cures (ch. 6.4): a 7-layer net (6 hidden layers of
 * 100 ReLU units) trained on only 300 MNIST images reaches 100% on them while test accuracy
 * stays far below; weight decay (λ = 0.1) and dropout (ratio 0.2) narrow that gap. Train and
 * test accuracy are measured after every epoch (3 steps of batch 100).
 */
import type { Backend } from '../backend/backend.js';
import type { Dataset } from '../data/dataset.js';
import { MultiLayerNet } from '../nn/multi-layer-net.js';
import type { Tensor } from '../tensor/tensor.js';
import { SGD } from '../train/optimizer.js';
import type { LearningProblem } from '../train/learning-check.js';
import { Trainer } from '../train/trainer.js';

/** overfit_weight_decay.py and overfit_dropout.py: what they share. */
export const OVERFIT_SETUP = {
  trainImages: 300,
  hiddenSizes: [100, 100, 100, 100, 100, 100],
  batch: 100,
  lr: 0.01,
  /** The book's max_epochs for weight decay (its dropout run uses 301). */
  epochs: 201,
  /** Test images scored after every epoch (the full 10,000 once at the end). */
  testImagesPerEpoch: 1000,
  seed: 7,
} as const;

/** One of the book's three setups: no cure, weight decay, or dropout. */
export interface OverfitRun {
  name: string;
  weightDecay: number;
  dropoutRatio: number;
}

/** Without a cure, with the book's λ = 0.1, with the book's dropout ratio 0.2. */
export const OVERFIT_RUNS: readonly OverfitRun[] = [
  { name: 'no regularization', weightDecay: 0, dropoutRatio: 0 },
  { name: 'weight decay λ = 0.1', weightDecay: 0.1, dropoutRatio: 0 },
  { name: 'dropout 0.2', weightDecay: 0, dropoutRatio: 0.2 },
];

/** One setup's accuracies per epoch. */
export interface OverfitCurve extends OverfitRun {
  /** Accuracy on the 300 training images after each epoch. */
  trainAcc: number[];
  /** Accuracy on the per-epoch test images after each epoch. */
  testAcc: number[];
  /** Accuracy on the whole test set after the last epoch. */
  finalTestAcc: number;
  /** Why the run did not learn, if it did not (Trainer's check); null when it did. */
  learning: LearningProblem | null;
}

/** What `npm run experiment -- overfitting` writes to <date>-overfitting.json. */
export interface OverfittingResult {
  experiment: 'overfitting';
  /** YYYY-MM-DD */
  date: string;
  device: 'gpu' | 'cpu';
  adapter: string;
  epochs: number;
  /** OVERFIT_SETUP as it was when the run was made. */
  setup: { trainImages: number; hiddenSizes: number[]; batch: number; lr: number; epochs: number; testImagesPerEpoch: number; seed: number };
  net: string;
  curves: OverfitCurve[];
}

/** How much of the experiment to run, and what to call back. */
export interface OverfitOptions {
  epochs?: number;
  runs?: readonly OverfitRun[];
  /** After each epoch of each run. */
  onEpoch?(run: OverfitRun, epoch: number, trainAcc: number, testAcc: number): void;
  /** Asked before every step; true ends the experiment, returning the runs finished. */
  shouldStop?(): boolean;
}

/** Train minus test accuracy over the last `n` epochs: how much the net has overfitted. */
export function finalGap(curve: OverfitCurve, n = 10): number {
  const tail = (a: number[]) => a.slice(-n).reduce((s, v) => s + v, 0) / Math.min(n, a.length);
  return tail(curve.trainAcc) - tail(curve.testAcc);
}

/**
 * `train` must be the 300 training images; `testPerEpoch` the images scored after each epoch;
 * `fullTest` the whole test set, scored once at the end.
 */
export async function overfitting<T extends Tensor>(
  backend: Backend<T>,
  train: Dataset<T>,
  testPerEpoch: Dataset<T>,
  fullTest: Dataset<T>,
  options: OverfitOptions = {},
): Promise<OverfitCurve[]> {
  const { batch, lr, seed, hiddenSizes } = OVERFIT_SETUP;
  const epochs = options.epochs ?? OVERFIT_SETUP.epochs;
  const curves: OverfitCurve[] = [];
  for (const run of options.runs ?? OVERFIT_RUNS) {
    // The same initial weights and minibatches for every run: only the cure differs.
    const net = new MultiLayerNet(backend, { hiddenSizes: [...hiddenSizes], activation: 'relu', weightInit: 'he', weightDecay: run.weightDecay, dropoutRatio: run.dropoutRatio, seed });
    const trainer = new Trainer(net, train, testPerEpoch, new SGD(backend, lr));
    const curve: OverfitCurve = { ...run, trainAcc: [], testAcc: [], finalTestAcc: NaN, learning: null };
    try {
      const result = await trainer.run(
        { steps: epochs * trainer.iterPerEpoch(batch), batchSize: batch, seed, readEvery: trainer.iterPerEpoch(batch) },
        {
          onEpoch: (e) => {
            curve.trainAcc.push(e.trainAcc);
            curve.testAcc.push(e.testAcc);
            options.onEpoch?.(run, e.epoch, e.trainAcc, e.testAcc);
          },
          shouldStop: options.shouldStop,
        },
      );
      if (result.stoppedAt !== undefined) break;
      curve.learning = result.learning;
      curve.finalTestAcc = await trainer.evaluate(fullTest);
      curves.push(curve);
    } finally {
      net.dispose();
    }
  }
  return curves;
}
