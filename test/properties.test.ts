import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { matmulCpu } from '../src/kernels/matmul.js';
import { EPS32, expectClose } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';

/**
 * Random shapes (0 and 1 included wherever an op allows them) and random values through the GPU
 * ops, each against the float64 CPU backend. Shapes stay small: this is about edges and
 * indexing, the kernel tests cover the large shapes.
 */
const { ctx, gpu } = useGpu();
const cpu = new CpuBackend('f64');
beforeAll(() => {
  ctx().pool.poison = true;
});

const dim = (max: number) => fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 0, max }));
// GPUs may flush float32 subnormals to zero (WGSL allows it; SwiftShader does), the CPU keeps
// them: values that small become 0 so both devices see the same inputs.
const values = (n: number) =>
  fc
    .array(fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n })
    .map((a) => Float32Array.from(a, (v) => (Math.abs(v) < 1e-30 ? 0 : v)));
const RUNS = { numRuns: 25 };

describe('GPU ops agree with the CPU on random shapes', () => {
  it('matmul (default variant), every transpose, with and without bias', async () => {
    await fc.assert(
      fc.asyncProperty(dim(40), dim(40), dim(40), fc.boolean(), fc.boolean(), fc.boolean(), fc.integer(), async (M, N, K, transA, transB, withBias, seed) => {
        const bias = withBias && !transA && !transB;
        const a = fc.sample(values(M * K), { numRuns: 1, seed })[0]!;
        const b = fc.sample(values(K * N), { numRuns: 1, seed: seed + 1 })[0]!;
        const c = fc.sample(values(N), { numRuns: 1, seed: seed + 2 })[0]!;
        const aShape = transA ? [K, M] : [M, K];
        const bShape = transB ? [N, K] : [K, N];
        const g = gpu();
        const [ga, gb, gc] = [g.fromArray(a, aShape), g.fromArray(b, bShape), g.fromArray(c, [N])];
        const out = g.matmul(ga, gb, { transA, transB, bias: bias ? gc : undefined });
        const ref = cpu.matmul(cpu.fromArray(a, aShape), cpu.fromArray(b, bShape), { transA, transB, bias: bias ? cpu.fromArray(c, [N]) : undefined });
        const absProd = new Float64Array(M * N);
        matmulCpu(a.map(Math.abs), b.map(Math.abs), bias ? c.map(Math.abs) : undefined, absProd, { M, N, K }, { transA, transB });
        expectClose(await g.read(out), ref.data, absProd.map((v) => 2 * (K + 2) * EPS32 * v + 1e-30), `${M}x${N}x${K} tA=${transA} tB=${transB} bias=${bias}`);
        g.dispose(ga, gb, gc, out);
      }),
      RUNS,
    );
  });

  it('ReLU and sigmoid, forward and backward', async () => {
    await fc.assert(
      fc.asyncProperty(dim(300).chain((n) => fc.tuple(values(n), values(n))), async ([x, dy]) => {
        const g = gpu();
        const [gx, gdy] = [g.fromArray(x, [x.length]), g.fromArray(dy, [dy.length])];
        const [cx, cdy] = [cpu.fromArray(x, [x.length]), cpu.fromArray(dy, [dy.length])];
        const relu = g.reluForward(gx);
        const crelu = cpu.reluForward(cx);
        expectClose(await g.read(relu.y), crelu.y.data, 0, 'relu y');
        expectClose(await g.read(relu.mask), crelu.mask.data, 0, 'relu mask');
        expectClose(await g.read(g.reluBackward(gdy, relu.mask)), cpu.reluBackward(cdy, crelu.mask).data, 0, 'relu dx');
        const s = g.sigmoidForward(gx);
        const cs = cpu.sigmoidForward(cx);
        // exp in f32 on the GPU: a few ulps of a value below 1.
        expectClose(await g.read(s), cs.data, 4e-7, 'sigmoid y');
        expectClose(await g.read(g.sigmoidBackward(gdy, s)), cpu.sigmoidBackward(cdy, cs).data, 1e-6, 'sigmoid dx');
      }),
      RUNS,
    );
  });

  it('softmax with cross-entropy, its gradient, argmax and correct counts', async () => {
    await fc.assert(
      fc.asyncProperty(dim(20), fc.integer({ min: 1, max: 15 }), fc.integer(), async (rows, cols, seed) => {
        const logits = fc.sample(values(rows * cols), { numRuns: 1, seed })[0]!.map((v) => v * 10);
        // (×10 keeps the values far from the subnormal range.)
        const labels = Array.from({ length: rows }, (_, i) => (i * 7 + (seed >>> 0)) % cols);
        const g = gpu();
        const [gl, gt] = [g.fromArray(logits, [rows, cols]), g.labels(labels, cols)];
        const [cl, ct] = [cpu.fromArray(logits, [rows, cols]), cpu.labels(labels, cols)];
        const { probs, loss } = g.softmaxCrossEntropy(gl, gt);
        const ref = cpu.softmaxCrossEntropy(cl, ct);
        expectClose(await g.read(probs), ref.probs.data, 1e-6, 'probs');
        expectClose(await g.read(loss), ref.loss.data, 1e-5 * (1 + Math.abs(ref.loss.data[0]!)), 'loss');
        expectClose(await g.read(g.softmaxCrossEntropyBackward(probs, gt)), cpu.softmaxCrossEntropyBackward(ref.probs, ct).data, 1e-6, 'dx');
        if (cols > 0 && rows > 0) {
          // Ties break to the first index on both devices; random floats rarely tie anyway.
          expectClose(await g.read(g.argmax(gl)), cpu.argmax(cl).data, 0, 'argmax');
          expectClose(await g.read(g.countCorrect(gl, gt)), cpu.countCorrect(cl, ct).data, 0, 'correct');
        }
      }),
      RUNS,
    );
  });

  it('column sums, sums and means', async () => {
    await fc.assert(
      fc.asyncProperty(dim(70), dim(70), fc.integer(), async (rows, cols, seed) => {
        const x = fc.sample(values(rows * cols), { numRuns: 1, seed })[0]!;
        const g = gpu();
        const gx = g.fromArray(x, [rows, cols]);
        const cx = cpu.fromArray(x, [rows, cols]);
        const scale = x.reduce((s, v) => s + Math.abs(v), 0);
        // Sums of n float32 values: error ~ log2(n)·eps32·Σ|x| for the chunked tree, n·eps for a column.
        expectClose(await g.read(g.sumColumns(gx)), cpu.sumColumns(cx).data, (rows + 1) * EPS32 * scale + 1e-30, 'column sums');
        expectClose(await g.read(g.sum(gx)), cpu.sum(cx).data, 64 * EPS32 * scale + 1e-30, 'sum');
        if (rows * cols > 0) expectClose(await g.read(g.mean(gx)), cpu.mean(cx).data, (64 * EPS32 * scale) / (rows * cols) + 1e-30, 'mean');
      }),
      RUNS,
    );
  });
});
