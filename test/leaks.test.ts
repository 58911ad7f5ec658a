import { beforeAll, expect, it } from 'vitest';
import { BindGroupCache } from '../src/gpu/bind-groups.js';
import { GpuDataset } from '../src/data/gpu-dataset.js';
import { sliceSplit, type Mnist } from '../src/data/mnist.js';
import { loadMnist } from '../src/node/load-mnist.js';
import { TwoLayerNet } from '../src/nn/multi-layer-net.js';
import { SGD } from '../src/train/optimizer.js';
import { Trainer } from '../src/train/trainer.js';
import { useGpu } from './helpers/gpu.js';

const { ctx, gpu } = useGpu();
let mnist: Mnist;
beforeAll(async () => {
  mnist = await loadMnist();
});

/** Everything the GPU side owns that a leak would grow. */
function footprint() {
  const c = ctx();
  return { ...c.pool.stats(), pipelines: c.pipelines.size, uniforms: c.uniforms.size };
}

it('GPU buffers, bytes, pipelines, uniforms and bind groups stop growing after warm-up', async () => {
  const train = new GpuDataset(gpu(), sliceSplit(mnist.train, 0, 3000));
  const test = new GpuDataset(gpu(), sliceSplit(mnist.test, 0, 500));
  const trainer = new Trainer(new TwoLayerNet(gpu(), 784, 50, 10), train, test, new SGD(gpu(), 0.1));
  const config = { batchSize: 100, seed: 1, readEvery: 20, evalEvery: 100 };
  await trainer.run({ ...config, steps: 100 });
  const warm = footprint();
  const result = await trainer.run({ ...config, steps: 400 });
  expect(result.epochs).toHaveLength(4);
  expect(footprint()).toEqual(warm);
  // Bind groups are a cache: evaluation and readback windows change which buffer serves which
  // role now and then, so it keeps a few misses; its size is capped.
  expect(ctx().bindGroups.size).toBeLessThanOrEqual(BindGroupCache.LIMIT);
  expect(ctx().bindGroups.hits).toBeGreaterThan(5 * ctx().bindGroups.misses);
  trainer.net.dispose();
  train.dispose();
  test.dispose();
});
