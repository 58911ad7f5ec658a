/**
 * The book's overfitting experiment, shortened: 60 epochs instead of 201, test accuracy on 300
 * test images. On the f32 CPU backend the run is deterministic, so these are facts about the
 * experiment, not luck. Full-length numbers: docs/experiments/*-overfitting.json.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { CpuDataset } from '../src/data/cpu-dataset.js';
import { sliceSplit, type Mnist } from '../src/data/mnist.js';
import { finalGap, OVERFIT_RUNS, OVERFIT_SETUP, overfitting, type OverfitCurve } from '../src/experiments/overfitting.js';
import { loadMnist } from '../src/node/load-mnist.js';

let curves: OverfitCurve[];
const EPOCHS = 60;
const seen: string[] = [];

beforeAll(async () => {
  const mnist: Mnist = await loadMnist();
  const be = new CpuBackend('f32');
  const train = new CpuDataset(be, sliceSplit(mnist.train, 0, OVERFIT_SETUP.trainImages));
  const test = new CpuDataset(be, sliceSplit(mnist.test, 0, 300));
  curves = await overfitting(be, train, test, test, { epochs: EPOCHS, onEpoch: (run, epoch) => void (epoch === EPOCHS && seen.push(run.name)) });
}, 300_000);

describe('overfitting and its cures (300 images, 7 layers)', () => {
  it('runs each of the book\'s three setups for every epoch', () => {
    expect(curves.map((c) => c.name)).toEqual(OVERFIT_RUNS.map((r) => r.name));
    expect(seen).toEqual(OVERFIT_RUNS.map((r) => r.name));
    for (const c of curves) {
      expect(c.trainAcc).toHaveLength(EPOCHS);
      expect(c.testAcc).toHaveLength(EPOCHS);
      expect(c.finalTestAcc).toBeGreaterThan(0.1);
      // Overfitting is learning too well, not failing to learn: the check must not fire.
      expect(c.learning, c.name).toBeNull();
    }
  });

  it('without a cure the net learns the 300 images far better than it generalizes', () => {
    const plain = curves[0]!;
    expect(plain.trainAcc.at(-1)!).toBeGreaterThan(0.9);
    expect(finalGap(plain)).toBeGreaterThan(0.2);
  });

  it('weight decay and dropout narrow the train/test gap', () => {
    const [plain, decay, dropout] = curves;
    expect(finalGap(decay!)).toBeLessThan(finalGap(plain!) - 0.03);
    expect(finalGap(dropout!)).toBeLessThan(finalGap(plain!) - 0.03);
  });
});
