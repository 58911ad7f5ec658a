/**
 * The performance target for a real GPU: 10,000 steps of the seed's net, wall time including
 * the loss readbacks, trained exactly as `npm start` trains (Trainer.run: each step's loss filed
 * on the device and read back every `readEvery` steps), once per way of running a step: layer by
 * layer, fused (npm start's default on a GPU), and fused with several steps per submit. The one full
 * evaluation at the end of each is timed apart.
 */
import { GpuDataset, MultiLayerNet, SGD, Trainer, type GpuBackend, type Mnist } from 'webgpu-backprop';
import type { ModelSpec } from './model.js';
import { now } from './stats.js';

/** How the steps ran: TrainConfig.fused and TrainConfig.stepsPerSubmit. */
export interface LongRunPath {
  fused: boolean;
  stepsPerSubmit: number;
}

/** The paths a long run times, in order. */
export const LONG_RUN_PATHS: readonly LongRunPath[] = [
  { fused: false, stepsPerSubmit: 1 },
  { fused: true, stepsPerSubmit: 1 },
  { fused: true, stepsPerSubmit: 10 },
];

export interface LongRunResult {
  /** The paths, one run each, in the order of LONG_RUN_PATHS. */
  runs: LongRunEntry[];
}

export interface LongRunEntry extends LongRunPath {
  steps: number;
  batch: number;
  readEvery: number;
  /** From the first step recorded to the last loss read back. */
  trainWallMs: number;
  msPerStep: number;
  /** The evaluation of the train and test sets after the last step. */
  evalWallMs: number;
  lastLoss: number;
  testAccuracy: number;
}

export async function longRun(gpu: GpuBackend, mnist: Mnist, spec: ModelSpec, steps: number, batch: number, progress: (line: string) => void): Promise<LongRunResult> {
  const runs: LongRunEntry[] = [];
  for (const path of LONG_RUN_PATHS) runs.push(await longRunOf(gpu, mnist, spec, steps, batch, path, progress));
  return { runs };
}

async function longRunOf(gpu: GpuBackend, mnist: Mnist, spec: ModelSpec, steps: number, batch: number, path: LongRunPath, progress: (line: string) => void): Promise<LongRunEntry> {
  const train = new GpuDataset(gpu, mnist.train);
  const test = new GpuDataset(gpu, mnist.test);
  const net = new MultiLayerNet(gpu, { hiddenSizes: [spec.hidden], seed: spec.seed });
  const readEvery = 100;
  const name = `${path.fused ? 'fused' : 'layer by layer'}, ${path.stepsPerSubmit} step(s) a submit`;
  try {
    const trainer = new Trainer(net, train, test, new SGD(gpu, spec.lr));
    // Pipelines compiled and pools filled before the clock starts, as the other sections do.
    await trainer.run({ steps: Math.min(readEvery, steps), batchSize: batch, seed: spec.seed, readEvery, ...path });
    let trainDone = 0;
    const start = now();
    const result = await trainer.run(
      { steps, batchSize: batch, seed: spec.seed + 1, readEvery, evalEvery: steps, ...path },
      {
        onProgress: (done) => {
          if (done === steps) trainDone = now();
          if (done % (steps / 4) === 0) progress(`long run (${name}): ${done} / ${steps} steps, ${((now() - start) / 1000).toFixed(2)} s`);
        },
      },
    );
    const end = now();
    if (result.fused !== path.fused) throw new Error(`long run: asked for ${name}, the Trainer ran ${result.fused ? 'fused' : 'layer by layer'}`);
    return {
      ...path,
      steps,
      batch,
      readEvery,
      trainWallMs: trainDone - start,
      msPerStep: (trainDone - start) / steps,
      evalWallMs: end - trainDone,
      lastLoss: result.losses[steps - 1]!,
      testAccuracy: result.epochs.at(-1)!.testAcc,
    };
  } finally {
    net.dispose();
    train.dispose();
    test.dispose();
  }
}
