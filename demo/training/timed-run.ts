/**
 * A fixed number of training steps on one device, timed: the CPU-vs-GPU panel runs it on both
 * with the same seed, so both draw the same initial weights and the same minibatches and their
 * losses should agree to float32 rounding.
 */
import { createNet, createOptimizer, MNIST_CLASSES, Rng, sampleIndices, Trainer, type Backend, type Dataset, type Tensor } from 'webgpu-backprop';
import type { DemoSettings } from '../app/settings.js';
import { TimeSlicer } from '../app/yield.js';

export interface TimedRun {
  losses: Float32Array;
  /**
   * Time per step after the first `untimed` ones. GPU: wall time until the work is finished.
   * CPU: the steps' own time, without the turns given to the page between them.
   */
  msPerStep: number;
  /** Steps run before the clock starts: the first allocates buffers, the first few warm up the JIT. */
  untimed: number;
}

export async function timedRun<T extends Tensor>(backend: Backend<T>, train: Dataset<T>, settings: Readonly<DemoSettings>, steps: number): Promise<TimedRun> {
  const net = createNet(backend, settings, train.sampleShape, MNIST_CLASSES);
  const optimizer = createOptimizer(backend, settings.optimizer, settings.lr);
  const trainer = new Trainer(net, train, train, optimizer);
  const rng = new Rng(settings.seed);
  const history = backend.zeros([steps]);
  const slicer = new TimeSlicer();
  // Reading one value waits for everything submitted before it: the GPU's "finished" clock.
  const settle = async () => void (await backend.read(history));
  const onCpu = backend.device === 'cpu';
  const untimed = Math.max(1, Math.floor(steps / 5));
  let t0 = 0;
  let cpuMs = 0;
  try {
    for (let step = 0; step < steps; step++) {
      const s0 = performance.now();
      const loss = trainer.step(step, sampleIndices(rng, train.count, settings.batch));
      backend.storeScalar(loss, history, step);
      backend.flush();
      if (step === untimed - 1) {
        await settle();
        t0 = performance.now();
      } else if (step >= untimed) {
        cpuMs += performance.now() - s0;
      }
      // Only the CPU needs turns for the page; the GPU records ahead and the browser stays free.
      if (onCpu) await slicer.maybeYield();
    }
    const losses = Float32Array.from(await backend.read(history));
    const ms = onCpu ? cpuMs : performance.now() - t0;
    return { losses, msPerStep: ms / Math.max(steps - untimed, 1), untimed };
  } finally {
    backend.dispose(history);
    optimizer.dispose();
    net.dispose();
  }
}
