/**
 * A run that does not learn must say so, and a run of the book's settings must never be told it
 * did not: the rule (src/train/learning-check.ts) on made-up loss curves, on the committed
 * optimizer comparison, and on real CPU runs of the book's nets through the Trainer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { CpuDataset } from '../src/data/cpu-dataset.js';
import { sliceSplit, type Mnist } from '../src/data/mnist.js';
import type { OptimizerComparisonResult } from '../src/experiments/optimizer-comparison.js';
import { loadMnist } from '../src/node/load-mnist.js';
import { MultiLayerNet, type NetConfig } from '../src/nn/multi-layer-net.js';
import { checkLearning } from '../src/train/learning-check.js';
import { createOptimizer, OPTIMIZER_NAMES, USUAL_LR, type OptimizerName } from '../src/train/optimizer.js';
import { Trainer, type TrainResult } from '../src/train/trainer.js';

const LN10 = Math.log(10);

describe('checkLearning on loss curves', () => {
  const falling = Array.from({ length: 300 }, (_, i) => LN10 * Math.exp(-i / 100) + 0.2);

  it('a falling loss with a good accuracy is fine', () => {
    expect(checkLearning({ losses: falling, classes: 10, accuracy: 0.9, lr: 0.1, usualLr: 0.1 })).toBeNull();
  });

  it('a loss that blew up after the first step: rose, learning rate too large, try the usual one', () => {
    const losses = [LN10, ...Array.from({ length: 299 }, (_, i) => 14 + Math.sin(i))];
    const p = checkLearning({ losses, classes: 10, accuracy: 0.1, lr: 1000, usualLr: 0.1 })!;
    expect(p.kind).toBe('loss-rose');
    expect(p.firstLoss).toBeCloseTo(LN10, 5);
    expect(p.message).toMatch(/^the loss rose from 2\.3 to 1[34](\.\d+)?: the learning rate 1000 is probably too large; try 0\.1$/);
  });

  it('a loss that rose slowly from its first window is caught too', () => {
    const losses = Array.from({ length: 200 }, (_, i) => 0.5 + i / 50);
    expect(checkLearning({ losses, classes: 10, lr: 0.5, usualLr: 0.1 })!.message).toContain('try 0.05');
  });

  it('a flat loss at ln(classes) and chance accuracy: did not learn; a tiny learning rate is named', () => {
    const losses = Array.from({ length: 300 }, (_, i) => LN10 + 0.001 * Math.sin(i));
    const tiny = checkLearning({ losses, classes: 10, accuracy: 0.11, lr: 1e-5, usualLr: 0.1 })!;
    expect(tiny.kind).toBe('at-chance');
    expect(tiny.message).toContain('the net did not learn; the learning rate 0.00001 is probably too small; try 0.1');
    const usual = checkLearning({ losses, classes: 10, accuracy: 0.11, lr: 0.1, usualLr: 0.1 })!;
    expect(usual.message).toContain('initial weights too small for the depth');
  });

  it('chance accuracy after a loss that jumped at the start names a learning rate too large', () => {
    const losses = [LN10, ...Array.from({ length: 299 }, (_, i) => (i < 30 ? 3.5 : LN10 + 0.01 * Math.sin(i)))];
    const p = checkLearning({ losses, classes: 10, accuracy: 0.1, lr: 3, usualLr: 0.1 })!;
    expect(p.kind).toBe('at-chance');
    expect(p.message).toContain('the learning rate 3 is probably too large; try 0.1');
  });

  it('says nothing about runs too short to judge, or about accuracy it was not given', () => {
    expect(checkLearning({ losses: [LN10, 14, 15, 16], classes: 10, accuracy: 0.1 })).toBeNull();
    const flat = Array.from({ length: 300 }, () => LN10);
    expect(checkLearning({ losses: flat, classes: 10 })).toBeNull();
    expect(checkLearning({ losses: flat.slice(0, 50), classes: 10, accuracy: 0.1 })).toBeNull();
  });

  it('a converged run resumed from a checkpoint never looks like a rise, whatever its level, batch size and luck', () => {
    // Minibatch losses scatter about their level with a spread of ~0.1 at 100 examples a step
    // (measured on npm start's runs), √(100 / batch) times that for other batch sizes.
    fc.assert(
      fc.property(
        fc.double({ min: 0.02, max: 2.5, noNaN: true }),
        fc.constantFrom(1, 10, 100, 1000),
        fc.integer({ min: 20, max: 1000 }),
        fc.integer(),
        (level, batchSize, steps, seed) => {
          const spread = 0.12 * Math.sqrt(100 / batchSize);
          const losses = normals(seed, steps).map((g) => Math.max(level + spread * g, 1e-3));
          return checkLearning({ losses, batchSize, classes: 10, accuracy: 0.9, lr: 0.1, usualLr: 0.1 }) === null;
        },
      ),
      { numRuns: 500, seed: 42 },
    );
  });
});

/** `n` standard normal values from a small seeded generator (Box-Muller over mulberry32). */
function normals(seed: number, n: number): number[] {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}

describe("the book's optimizer comparison, as committed", () => {
  const files = readdirSync('docs/experiments').filter((f) => f.endsWith('-optimizers.json'));
  it.each(files)('%s: every optimizer learned', (file) => {
    const result = JSON.parse(readFileSync(`docs/experiments/${file}`, 'utf8')) as OptimizerComparisonResult;
    expect(result.curves.length).toBe(4);
    for (const c of result.curves) {
      expect(checkLearning({ losses: c.losses, classes: 10, accuracy: c.testAcc, lr: c.lr, usualLr: USUAL_LR[c.optimizer] }), c.optimizer).toBeNull();
    }
  });
});

describe('real runs through the Trainer (CPU, 300 steps)', () => {
  let mnist: Mnist;
  const cpu = new CpuBackend('f32');
  let train: CpuDataset;
  let test: CpuDataset;
  beforeAll(async () => {
    mnist = await loadMnist();
    train = new CpuDataset(cpu, sliceSplit(mnist.train, 0, 10_000));
    test = new CpuDataset(cpu, sliceSplit(mnist.test, 0, 1_000));
  });

  async function run(config: Partial<NetConfig>, optimizer: OptimizerName, lr: number): Promise<TrainResult> {
    const net = new MultiLayerNet(cpu, { weightInitStd: 0.01, seed: 42, ...config });
    const opt = createOptimizer(cpu, optimizer, lr);
    try {
      return await new Trainer(net, train, test, opt).run({ steps: 300, batchSize: 100, seed: 42, readEvery: 50 });
    } finally {
      opt.dispose();
      net.dispose();
    }
  }

  // npm start's net, with each of the book's optimizers at its usual rate and at npm start's 0.1.
  it.each(OPTIMIZER_NAMES)('TwoLayerNet with %s learns, at its usual learning rate and at 0.1', async (optimizer) => {
    for (const lr of new Set([USUAL_LR[optimizer], 0.1])) {
      const result = await run({ hiddenSizes: [50] }, optimizer, lr);
      expect(result.learning, `${optimizer} lr ${lr}: ${result.learning?.message}`).toBeNull();
    }
  });

  it.each([
    ['relu', 'std'],
    ['relu', 'xavier'],
    ['relu', 'he'],
    ['sigmoid', 'std'],
    ['sigmoid', 'xavier'],
    ['sigmoid', 'he'],
  ] as const)('TwoLayerNet, %s with the %s init, learns', async (activation, weightInit) => {
    const result = await run({ hiddenSizes: [50], activation, weightInit }, 'sgd', 0.1);
    expect(result.learning, result.learning?.message).toBeNull();
  });

  it('npm start -- --lr 1000: the loss rose, and the learning rate is named', async () => {
    const result = await run({ hiddenSizes: [50] }, 'sgd', 1000);
    expect(result.learning?.kind).toBe('loss-rose');
    expect(result.learning?.message).toMatch(/^the loss rose from 2\.3 to \d+(\.\d+)?: the learning rate 1000 is probably too large; try 0\.1$/);
  });

  it("the book's own non-learner, 5 layers of 100 with std 0.01 weights, is reported with the init as a cause", async () => {
    // Ch. 6's weight-initialization comparison: with std 0.01 the deep net's loss stays at ln 10.
    const deep = await run({ hiddenSizes: [100, 100, 100, 100] }, 'sgd', 0.1);
    expect(deep.learning?.kind).toBe('at-chance');
    expect(deep.learning?.message).toContain('initial weights too small for the depth');
    const he = await run({ hiddenSizes: [100, 100, 100, 100], weightInit: 'he' }, 'sgd', 0.1);
    expect(he.learning).toBeNull();
  });
});
