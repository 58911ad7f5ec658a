import { beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { dropoutSeed, dropoutThreshold, pcgHash } from '../src/kernels/dropout.js';
import type { CpuTensor } from '../src/tensor/cpu-tensor.js';
import { expectClose, randomArray } from './helpers/compare.js';
import { describeElementBlocks, useGpu } from './helpers/gpu.js';

const { ctx } = useGpu();
const cpu = new CpuBackend('f64');

beforeAll(() => {
  ctx().pool.poison = true;
});

/** The PCG hash written again with BigInt, so the Math.imul version is checked by other code. */
function pcgBig(v: number): number {
  const M = 0xffffffffn;
  const state = (BigInt(v) * 747796405n + 2891336453n) & M;
  const word = (((state >> ((state >> 28n) + 4n)) ^ state) * 277803737n) & M;
  return Number((word >> 22n) ^ word);
}

function data(t: CpuTensor): Float64Array {
  return t.data as Float64Array;
}

describe('the dropout hash', () => {
  it('is the PCG hash in exact 32-bit arithmetic', () => {
    for (const v of [0, 1, 2, 255, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 123456789]) expect(pcgHash(v), `pcg(${v})`).toBe(pcgBig(v));
  });

  it('gives each layer and step its own seed', () => {
    const seeds = new Set<number>();
    for (let layer = 0; layer < 4; layer++) for (let step = 0; step < 1000; step++) seeds.add(dropoutSeed(42, layer, step));
    expect(seeds.size).toBe(4000);
    expect(dropoutSeed(42, 0, 7)).not.toBe(dropoutSeed(43, 0, 7));
  });

  it('refuses a ratio outside [0, 1)', () => {
    expect(() => dropoutThreshold(1)).toThrow(/ratio must be in \[0, 1\), got 1/);
    expect(() => dropoutThreshold(-0.1)).toThrow(/ratio/);
    expect(() => dropoutThreshold(NaN)).toThrow(/ratio/);
  });
});

describeElementBlocks(ctx, 'dropout: GPU and CPU draw the same mask', (gpu) => {
  it.each([
    [1, 0.5],
    [7, 0.5],
    [1000, 0.1],
    [100_000, 0.5],
    [100_000, 0.9],
    [257, 0],
  ])('%i values, ratio %f', async (n, ratio) => {
    const seed = dropoutSeed(7, 1, n);
    const x = randomArray(n, n + 3, 2);
    const dy = randomArray(n, n + 5);
    const g = gpu().dropoutForward(gpu().fromArray(x, [n]), ratio, seed);
    const c = cpu.dropoutForward(cpu.fromArray(x, [n]), ratio, seed);
    const mask = Array.from(await gpu().read(g.mask));
    // Keep/drop is decided on integers on both devices: the masks are identical, y = x or 0 exactly.
    expect(mask).toEqual(Array.from(data(c.mask)));
    expectClose(await gpu().read(g.y), data(c.y), 0, 'y');
    const dx = gpu().dropoutBackward(gpu().fromArray(dy, [n]), g.mask);
    expectClose(await gpu().read(dx), data(cpu.dropoutBackward(cpu.fromArray(dy, [n]), c.mask)), 0, 'dx');
    if (n >= 100_000) {
      // Binomial(n, ratio): the dropped fraction is within 5 standard deviations of ratio.
      const dropped = mask.reduce((s, m) => s + (1 - m), 0) / n;
      expect(Math.abs(dropped - ratio)).toBeLessThan(5 * Math.sqrt((ratio * (1 - ratio)) / n));
    }
    if (ratio === 0) expect(mask.every((m) => m === 1)).toBe(true);
  });

  it('draws a new mask for a new seed, as independent as coin flips', async () => {
    const n = 20_000;
    const x = gpu().fromArray(new Float32Array(n).fill(1), [n]);
    const a = Array.from(await gpu().read(gpu().dropoutForward(x, 0.5, dropoutSeed(1, 0, 0)).mask));
    const b = Array.from(await gpu().read(gpu().dropoutForward(x, 0.5, dropoutSeed(1, 0, 1)).mask));
    const agree = a.reduce((s, m, i) => s + (m === b[i] ? 1 : 0), 0) / n;
    // Independent masks agree on half the units (±5 standard deviations of 0.0035).
    expect(Math.abs(agree - 0.5)).toBeLessThan(0.018);
    // Neighbouring units are uncorrelated too (a bad hash of the index would make runs).
    const sameAsNext = a.reduce((s, m, i) => s + (i > 0 && m === a[i - 1] ? 1 : 0), 0) / (n - 1);
    expect(Math.abs(sameAsNext - 0.5)).toBeLessThan(0.018);
  });

  it('at inference keeps every unit, scaled by 1 - ratio', async () => {
    const x = randomArray(300, 9, 3);
    const y = await gpu().read(gpu().dropoutInference(gpu().fromArray(x, [3, 100]), 0.25));
    expectClose(y, data(cpu.dropoutInference(cpu.fromArray(x, [3, 100]), 0.25)), 3 * 2 ** -24 * 3, 'y');
    expectClose(y, Array.from(x, (v) => v * 0.75), 1e-6, 'x · 0.75');
  });

  it('refuses bad ratios, seeds and mismatched masks on both devices', () => {
    for (const be of [gpu(), cpu] as const) {
      const x = be.zeros([4]);
      expect(() => be.dropoutForward(x as never, 1, 0)).toThrow(/dropout: ratio must be in \[0, 1\), got 1/);
      expect(() => be.dropoutForward(x as never, 0.5, -1)).toThrow(/dropout: seed must be an integer/);
      expect(() => be.dropoutInference(x as never, 1.5)).toThrow(/ratio/);
      expect(() => be.dropoutBackward(x as never, be.zeros([5]) as never)).toThrow(/dropoutBackward: dy \[4\] and mask \[5\] must have the same shape/);
    }
  });
});
