/**
 * One step of the book's training loop, op for op what Trainer.run records: gather a minibatch,
 * forward and backward through the net, the optimizer's update. The page runs its own loop around it (it
 * pauses, and draws as it goes) but must draw the same batches and compute the same numbers as
 * `npm start`, so the step lives here once and the loop mirrors Trainer.run.
 */
import type { Dataset } from '../../src/data/dataset.js';
import type { MultiLayerNet } from '../../src/nn/multi-layer-net.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { Optimizer } from '../../src/train/optimizer.js';

/** Where in a step a dispatch comes from; the layers label forward and backward themselves. */
export type StepPhase = 'data' | 'forward' | 'backward' | 'update' | 'bookkeeping';

/** Labels the GPU dispatches of a step (see trace/dispatch-tagger.ts); a no-op on the CPU. */
export interface StepTracer {
  begin(step: number): void;
  label<R>(phase: StepPhase, what: string, work: () => R): R;
  end(): void;
}

export const NO_TRACER: StepTracer = {
  begin() {},
  label: (_phase, _what, work) => work(),
  end() {},
};

export interface RecordedStep<T extends Tensor> {
  /** Batch-mean loss, shape []; valid until the net's next forward. */
  loss: T;
  x: T;
  t: T;
}

export function recordStep<T extends Tensor>(
  net: MultiLayerNet<T>,
  optimizer: Optimizer<T>,
  train: Dataset<T>,
  indices: Uint32Array,
  /** The step's number: it picks the dropout masks, as in Trainer.run, so `npm start` draws the same. */
  step: number,
  tracer: StepTracer = NO_TRACER,
): RecordedStep<T> {
  const { x, t } = tracer.label('data', 'minibatch', () => train.batch(indices));
  const loss = net.gradient(x, t, step);
  tracer.label('update', optimizer.name, () => optimizer.update(net.params()));
  return { loss, x, t };
}
