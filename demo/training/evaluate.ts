/**
 * Accuracy over a dataset, as Trainer.evaluate computes it (correct counts filed on the device
 * chunk by chunk, one readback), but giving the page a turn between chunks: on the CPU device
 * each chunk is a synchronous forward pass, so its chunks are small (a 2,000-row chunk, as the
 * GPU gets, would hold the page for a noticeable moment, and 70,000 rows in one go for seconds).
 */
import type { Dataset } from '../../src/data/dataset.js';
import type { MultiLayerNet } from '../../src/nn/multi-layer-net.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { TimeSlicer } from '../app/yield.js';

export async function accuracy<T extends Tensor>(net: MultiLayerNet<T>, data: Dataset<T>): Promise<number> {
  const be = net.backend;
  const chunk = be.device === 'cpu' ? 250 : 2_000;
  const chunks = Math.ceil(data.count / chunk);
  const counts = be.zeros([Math.max(chunks, 1)]);
  const slicer = new TimeSlicer();
  for (let c = 0; c < chunks; c++) {
    const rows = Math.min(chunk, data.count - c * chunk);
    const { x, t } = data.range(c * chunk, rows);
    const correct = be.countCorrect(net.predict(x), t);
    be.storeScalar(correct, counts, c);
    be.dispose(x, t, correct);
    be.flush();
    await slicer.maybeYield();
  }
  const values = await be.read(counts);
  be.dispose(counts);
  let total = 0;
  for (const v of values) total += v;
  return data.count === 0 ? 0 : total / data.count;
}
