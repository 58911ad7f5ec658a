/**
 * Model files written before the net became a list of layers still load and compute the same
 * predictions. The fixture was saved by commit 33ea2c7's `npm start -- --device cpu --steps 30
 * --batch-norm --hidden 32 --optimizer adam --lr 0.01 --save …`, which reported test accuracy
 * 0.8643 and train accuracy 0.85998… for it; the CPU forward is deterministic, so today's code
 * must give exactly those.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { CpuDataset } from '../src/data/cpu-dataset.js';
import type { Mnist } from '../src/data/mnist.js';
import { loadMnist } from '../src/node/load-mnist.js';
import { loadModel } from '../src/nn/model-file.js';
import { MultiLayerNet } from '../src/nn/multi-layer-net.js';
import { SGD } from '../src/train/optimizer.js';
import { Trainer } from '../src/train/trainer.js';

let mnist: Mnist;
beforeAll(async () => {
  mnist = await loadMnist();
});

describe('a model file from before the layer list', () => {
  it('loads into the same net and scores exactly what it scored when it was saved', async () => {
    const cpu = new CpuBackend('f32');
    const net = new MultiLayerNet(cpu, { hiddenSizes: [32], batchNorm: true });
    loadModel(net, readFileSync('test/fixtures/model-2026-11-30.safetensors'), 'model-2026-11-30.safetensors');
    const trainer = new Trainer(net, new CpuDataset(cpu, mnist.train), new CpuDataset(cpu, mnist.test), new SGD(cpu, 0.1));
    expect(await trainer.evaluate(trainer.test)).toBe(0.8643);
    expect(await trainer.evaluate(trainer.train)).toBe(51599 / 60000);
    net.dispose();
  });
});
