import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { CpuDataset } from '../src/data/cpu-dataset.js';
import { sliceSplit } from '../src/data/mnist.js';
import { SHIFTS, shiftAccuracy, shiftSplit } from '../src/experiments/shift.js';
import { loadMnist } from '../src/node/load-mnist.js';

/** Two 3x4 images with distinct pixel values, so a misplaced pixel shows. */
const split = { count: 2, rows: 3, cols: 4, pixels: Uint8Array.from({ length: 24 }, (_, i) => i + 1), labels: Uint8Array.of(3, 7) };

describe('shiftSplit', () => {
  it('moves every image right and down, zeros coming in, labels kept', () => {
    const moved = shiftSplit(split, 1, 2);
    expect([...moved.pixels]).toEqual([
      0, 0, 0, 0, /**/ 0, 0, 1, 2, /**/ 0, 0, 5, 6,
      0, 0, 0, 0, /**/ 0, 0, 13, 14, /**/ 0, 0, 17, 18,
    ]);
    expect(moved.labels).toBe(split.labels);
  });

  it('moves left and up with negative shifts, and empties an image shifted past its edge', () => {
    expect([...shiftSplit(split, -1, -1).pixels.subarray(0, 12)]).toEqual([6, 7, 8, 0, /**/ 10, 11, 12, 0, /**/ 0, 0, 0, 0]);
    expect([...shiftSplit(split, 0, 4).pixels].every((v) => v === 0)).toBe(true);
    expect([...shiftSplit(split, 0, 0).pixels]).toEqual([...split.pixels]);
  });
});

describe('shiftAccuracy', () => {
  it('trains a net, then scores the test set at each shift in each direction', async () => {
    const mnist = await loadMnist();
    const cpu = new CpuBackend('f32');
    const small = { train: sliceSplit(mnist.train, 0, 300), test: sliceSplit(mnist.test, 0, 50) };
    const r = await shiftAccuracy(cpu, (split) => new CpuDataset(cpu, split), small, 'simple-conv', 1);
    expect(r.training).toBe('1 epoch (3 steps of batch 100), adam lr 0.001, centred MNIST');
    expect(r.byDirection.map((d) => d.length)).toEqual([1, 4, 4, 4]);
    expect(r.accuracy).toHaveLength(SHIFTS.length);
    r.accuracy.forEach((a, i) => expect(a).toBeCloseTo(r.byDirection[i]!.reduce((x, y) => x + y, 0) / r.byDirection[i]!.length, 12));
    // Each a fraction of the 50 test images.
    for (const a of r.byDirection.flat()) expect(Math.abs(a * 50 - Math.round(a * 50))).toBeLessThan(1e-9);
  });
});
