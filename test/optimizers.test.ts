import { beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import type { Shape } from '../src/tensor/shape.js';
import { EPS32, expectClose, randomArray, thrown } from './helpers/compare.js';
import { describeElementBlocks, useGpu } from './helpers/gpu.js';

const { ctx } = useGpu();
const cpu = new CpuBackend('f64');

beforeAll(() => {
  ctx().pool.poison = true;
});


const SHAPES = ([[0], [1], [7], [257], [100, 50], [784, 50]] as Shape[]).map((shape) => ({ shape, name: shape.join('x') }));

describeElementBlocks(ctx, 'sgd p -= lr·g, in place, against the float64 CPU reference', (gpu) => {
  it.each(SHAPES)('$name', async ({ shape }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const p = randomArray(n, n + 1, 2);
    const g = randomArray(n, n + 2, 5);
    for (const lr of [0.1, 1e-3, 0]) {
      const gp = gpu().fromArray(p, shape);
      const gg = gpu().fromArray(g, shape);
      const before = gp.buffer;
      gpu().sgdUpdate(gp, gg, lr);
      expect(gp.buffer).toBe(before);
      const out = await gpu().read(gp);
      const cp = cpu.fromArray(p, shape);
      cpu.sgdUpdate(cp, cpu.fromArray(g, shape), lr);
      // lr is rounded to float32 in the uniform (EPS32·|lr·g|), lr·g and the difference round once
      // each: |Δ| <= EPS32·(|p - lr·g| + 2|lr·g|), doubled for slack from a fused multiply-add.
      const tol = p.map((v, i) => 2 * EPS32 * (Math.abs(v - lr * g[i]!) + 2 * Math.abs(lr * g[i]!)));
      expectClose(out, cp.data, tol, `sgd ${shape} lr=${lr}`);
      // Gradients are read, not written.
      expect(Array.from(await gpu().read(gg))).toEqual(Array.from(g));
      gpu().dispose(gp, gg);
    }
  });

  it('repeated steps accumulate in the same buffer', async () => {
    const p = randomArray(300, 1);
    const g = randomArray(300, 2);
    const gp = gpu().fromArray(p, [300]);
    const gg = gpu().fromArray(g, [300]);
    for (let i = 0; i < 3; i++) gpu().sgdUpdate(gp, gg, 0.5);
    // Three roundings of about |p| + 1.5|g| each.
    expectClose(await gpu().read(gp), p.map((v, i) => v - 1.5 * g[i]!), p.map((v, i) => 8 * EPS32 * (Math.abs(v) + 1.5 * Math.abs(g[i]!))), 'three steps');
    gpu().dispose(gp, gg);
  });

  it.each([NaN, Infinity, -Infinity])('rejects lr = %s with a RangeError naming the learning rate', (lr) => {
    const gp = gpu().zeros([4]);
    const gg = gpu().zeros([4]);
    const cp = cpu.zeros([4]);
    const cg = cpu.zeros([4]);
    for (const [what, update] of [
      ['gpu', () => gpu().sgdUpdate(gp, gg, lr)],
      ['cpu', () => cpu.sgdUpdate(cp, cg, lr)],
    ] as const) {
      const error = thrown(update);
      expect(error, what).toBeInstanceOf(RangeError);
      expect(error.message).toContain('learning rate');
      expect(error.message).toContain(String(lr));
    }
    // Nothing was recorded for the refused update.
    gpu().flush();
    expect(ctx().lastTrace.filter((d) => d.kernel.startsWith('optimizers'))).toEqual([]);
    gpu().dispose(gp, gg);
  });

  it('refuses a gradient of another shape, naming both', () => {
    const gp = gpu().zeros([4, 3]);
    const gg = gpu().zeros([3, 4]);
    expect(() => gpu().sgdUpdate(gp, gg, 0.1)).toThrow('param [4, 3] and grad [3, 4]');
    gpu().dispose(gp, gg);
  });
});
