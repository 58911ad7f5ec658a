import { beforeAll, describe, expect, it } from 'vitest';
import { GpuDataset } from '../src/data/gpu-dataset.js';
import type { MnistSplit } from '../src/data/mnist.js';
import { gatherCpu } from '../src/kernels/gather.js';
import { expectClose } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';

const { ctx, gpu } = useGpu();
beforeAll(() => {
  ctx().pool.poison = true;
});

/** A fake split of `count` images of `cols` bytes (rows x 1 images: only cols matters here). */
function split(count: number, cols: number): MnistSplit {
  const pixels = Uint8Array.from({ length: count * cols }, (_, i) => (i * 37 + (i >> 8)) & 0xff);
  const labels = Uint8Array.from({ length: count }, (_, i) => (i * 3) % 10);
  return { count, rows: 1, cols, pixels, labels };
}

describe.each([
  ['words (cols % 4 == 0)', 784],
  ['bytes (cols % 4 != 0)', 30],
  ['a single column', 1],
])('gathering rows as %s', (_, cols) => {
  it('random rows and a range give the CPU reference', async () => {
    const s = split(50, cols);
    const data = new GpuDataset(gpu(), s);
    const indices = Uint32Array.from([49, 0, 7, 7, 31, 1, 48]);
    for (const [take, batch] of [
      [indices, data.batch(indices)],
      [Uint32Array.from({ length: 9 }, (_, i) => 40 + i), data.range(40, 9)],
    ] as const) {
      const x = new Float32Array(take.length * cols);
      const t = new Uint32Array(take.length);
      gatherCpu(s.pixels, s.labels, cols, take, x, t);
      // WGSL's f32 division may be off by 2.5 ulp, the CPU's is exact: 3e-7 on values <= 1.
      expectClose(await gpu().read(batch.x), x, 3e-7, 'pixels');
      expect(await gpu().read(batch.t)).toEqual(t);
      gpu().dispose(batch.x, batch.t);
    }
    data.dispose();
  });
});
