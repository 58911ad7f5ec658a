/**
 * The sparse kernels (shaders/sparse.wgsl) against the dense matmul at the seed's first layer,
 * on real MNIST batches (pixels / 255), in the same run.
 *
 *   node --import ./tools/register.mjs bench/matmul-explore/sparse.ts [options]
 *     --tilings 10x10w8u,1x50w8u sparse tilings to time: panel x tn, w workgroup, u for the unrolled
 *                                compress (default: the launcher's); each with and without the
 *                                strip order of the pixels for the weight gradient
 *     --dense unrolled,blocked   dense variants to time beside them (default: unrolled)
 *     --reps N                   interleaved repeats (default 15)
 *     --batches N                distinct MNIST batches, cycled through within a sample (default 8)
 *     --sample-ms T              approximate wall time of one sample (default 60)
 *
 * Shapes: forward x[100,784]·W1[784,50] + b1 and the weight gradient x[100,784]ᵀ·dout[100,50].
 * Each candidate is first checked against the float64 CPU reference on every batch. Timing: R
 * calls recorded into one submit, then await queue completion, per-call time = wall / R (the
 * CPU clock after the work is done, as bench/lib/gpu-timing.ts does); one untimed warm-up; the
 * candidates interleaved within each repeat, in an order that flips every repeat, so load from
 * other processes hits them alike. Reported: median and min over the repeats.
 */
import { adapterLabel, GpuTensor, Rng, sampleIndices, type GpuContext } from 'webgpu-backprop';
import { loadMnist, openNodeGpu } from 'webgpu-backprop/node';
import {
  imageStripOrder,
  matmulCpu,
  matmulGpu,
  SPARSE_TILING,
  sparseCompressCpu,
  sparseCompressGpu,
  sparseListsTensor,
  sparseMatmulCpu,
  sparseMatmulGpu,
  type MatmulVariant,
  type SparseTiling,
} from 'webgpu-backprop/kernels';
import { median } from '../lib/stats.js';

const argv = process.argv.slice(2);
const arg = (k: string) => {
  const i = argv.indexOf(k);
  return i >= 0 ? argv[i + 1] : undefined;
};
const reps = Number(arg('--reps') ?? 15);
const batchCount = Number(arg('--batches') ?? 8);
const sampleMs = Number(arg('--sample-ms') ?? 60);
const tilings: SparseTiling[] = (arg('--tilings')?.split(',') ?? [null]).map((s) => {
  if (!s) return SPARSE_TILING;
  const m = /^(\d+)x(\d+)w(\d+)(u?)$/.exec(s);
  if (!m) throw new Error(`--tilings: ${s} is not PANELxTNwWORKGROUP`);
  return { panel: +m[1]!, tn: +m[2]!, workgroup: +m[3]!, unrolledCompress: m[4] === 'u' };
});
const denseVariants = (arg('--dense')?.split(',') ?? ['unrolled']) as MatmulVariant[];

const ROWS = 100;
const PIXELS = 784;
const HIDDEN = 50;

const ctx = await openNodeGpu();
console.log(`adapter: ${adapterLabel(ctx.adapter)}`);
const mnist = await loadMnist();
const rng = new Rng(42);
const batches = Array.from({ length: batchCount }, () => {
  const idx = sampleIndices(rng, mnist.train.count, ROWS);
  const x = new Float32Array(ROWS * PIXELS);
  for (let r = 0; r < ROWS; r++) for (let c = 0; c < PIXELS; c++) x[r * PIXELS + c] = mnist.train.pixels[idx[r]! * PIXELS + c]! / 255;
  return x;
});
const zeros = batches.reduce((s, x) => s + x.filter((v) => v === 0).length, 0) / (batchCount * ROWS * PIXELS);
console.log(`${batchCount} MNIST batches of ${ROWS}: ${(100 * zeros).toFixed(1)}% zeros`);

const uniform = (n: number, scale: number, seed: number) => {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => (r.next() * 2 - 1) * scale);
};
const W = uniform(PIXELS * HIDDEN, 0.05, 1);
const bias = uniform(HIDDEN, 0.1, 2);
const dout = uniform(ROWS * HIDDEN, 0.01, 3);

const gx = batches.map((x) => GpuTensor.from(ctx, x, [ROWS, PIXELS]));
const gW = GpuTensor.from(ctx, W, [PIXELS, HIDDEN]);
const gb = GpuTensor.from(ctx, bias, [HIDDEN]);
const gdout = GpuTensor.from(ctx, dout, [ROWS, HIDDEN]);
const y = GpuTensor.empty(ctx, [ROWS, HIDDEN]);
const dW = GpuTensor.empty(ctx, [PIXELS, HIDDEN]);

interface Candidate {
  name: string;
  /** Records one call on batch i. */
  record: (i: number) => void;
  check?: () => Promise<number>;
}

const candidates: Candidate[] = [];
let turn = 0;
const next = () => turn++ % batchCount;

for (const v of denseVariants) {
  candidates.push({ name: `dense ${v} forward`, record: () => matmulGpu(ctx, gx[next()]!, gW, gb, y, {}, v) });
  candidates.push({ name: `dense ${v} dW`, record: () => matmulGpu(ctx, gx[next()]!, gdout, undefined, dW, { transA: true }, v) });
}

const stripOrder = imageStripOrder(28, 28);
const gorder = GpuTensor.from(ctx, stripOrder, [PIXELS], 'u32');
for (const t of tilings) {
  for (const order of [undefined, gorder]) {
    const name = `${t.panel}x${t.tn}w${t.workgroup}${t.unrolledCompress ? 'u' : ''}${order ? ' strip order' : ''}`;
    const lists = gx.map((x) => sparseListsTensor(ctx, x, t));
    gx.forEach((x, i) => sparseCompressGpu(ctx, x, lists[i]!, { order }, t));
    const check = async () => {
      let worst = 0;
      for (let i = 0; i < batchCount; i++) {
        sparseCompressGpu(ctx, gx[i]!, lists[i]!, { order }, t);
        const cpuLists = sparseCompressCpu(batches[i]!, ROWS, PIXELS, t.panel, order && stripOrder);
        for (const transA of [false, true]) {
          const out = transA ? dW : y;
          sparseMatmulGpu(ctx, gx[i]!, lists[i]!, transA ? gdout : gW, transA ? undefined : gb, out, { transA, order }, t);
          const got = (await out.read()) as Float32Array;
          const d = transA ? { M: PIXELS, N: HIDDEN, K: ROWS } : { M: ROWS, N: HIDDEN, K: PIXELS };
          const ref = new Float64Array(d.M * d.N);
          matmulCpu(batches[i]!, transA ? dout : W, transA ? undefined : bias, ref, d, { transA });
          const viaLists = new Float64Array(d.M * d.N);
          sparseMatmulCpu(batches[i]!, cpuLists, transA ? dout : W, transA ? undefined : bias, viaLists, d, { transA }, t.panel, order && stripOrder);
          for (let j = 0; j < ref.length; j++) worst = Math.max(worst, Math.abs(got[j]! - ref[j]!), Math.abs(viaLists[j]! - ref[j]!));
        }
      }
      return worst;
    };
    candidates.push({ name: `sparse ${name} compress (both lists)`, record: () => { const i = next(); sparseCompressGpu(ctx, gx[i]!, lists[i]!, { order }, t); } });
    candidates.push({ name: `sparse ${name} forward`, record: () => { const i = next(); sparseMatmulGpu(ctx, gx[i]!, lists[i]!, gW, gb, y, {}, t); }, check });
    candidates.push({ name: `sparse ${name} dW`, record: () => { const i = next(); sparseMatmulGpu(ctx, gx[i]!, lists[i]!, gdout, undefined, dW, { transA: true, order }, t); } });
    candidates.push({
      name: `sparse ${name} layer (compress + forward + dW)`,
      record: () => {
        const i = next();
        sparseCompressGpu(ctx, gx[i]!, lists[i]!, { order }, t);
        sparseMatmulGpu(ctx, gx[i]!, lists[i]!, gW, gb, y, {}, t);
        sparseMatmulGpu(ctx, gx[i]!, lists[i]!, gdout, undefined, dW, { transA: true, order }, t);
      },
    });
  }
}
for (const v of denseVariants) {
  candidates.push({
    name: `dense ${v} layer (forward + dW)`,
    record: () => {
      const i = next();
      matmulGpu(ctx, gx[i]!, gW, gb, y, {}, v);
      matmulGpu(ctx, gx[i]!, gdout, undefined, dW, { transA: true }, v);
    },
  });
}

// Correctness first: |gpu - f64 dense| stays at float32 rounding (values are O(1), K <= 784).
for (const c of candidates) {
  if (!c.check) continue;
  const worst = await c.check();
  console.log(`check ${c.name}: max |gpu - f64 dense| = ${worst.toExponential(2)}`);
  if (!(worst < 1e-4)) throw new Error(`${c.name} is wrong (max error ${worst})`);
}

/** Wall and process CPU milliseconds per call (SwiftShader's threads are ours, so CPU time is the work done, whatever else runs). */
async function timeOnce(ctx: GpuContext, c: Candidate, calls: number): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) c.record(i);
  await ctx.finish();
  const wall = (performance.now() - t0) / calls;
  const used = process.cpuUsage(c0);
  return { wall, cpu: (used.user + used.system) / 1000 / calls };
}

ctx.tracing = false;
const calls = new Map<Candidate, number>();
for (const c of candidates) {
  await timeOnce(ctx, c, 2);
  const single = Math.min((await timeOnce(ctx, c, 3)).wall, (await timeOnce(ctx, c, 3)).wall);
  calls.set(c, Math.max(5, Math.min(500, Math.ceil(sampleMs / single))));
}
const walls = new Map<Candidate, number[]>(candidates.map((c) => [c, []]));
const cpus = new Map<Candidate, number[]>(candidates.map((c) => [c, []]));
for (let r = 0; r < reps; r++) {
  const order = r % 2 === 0 ? candidates : [...candidates].reverse();
  for (const c of order) {
    const t = await timeOnce(ctx, c, calls.get(c)!);
    walls.get(c)!.push(t.wall);
    cpus.get(c)!.push(t.cpu);
  }
}

const f = (x: number) => x.toFixed(3).padStart(8);
console.log(`\nms per call over ${reps} repeats: wall median / min, process CPU median (calls per sample in brackets)`);
for (const c of candidates) {
  const w = walls.get(c)!;
  console.log(`  ${c.name.padEnd(48)} ${f(median(w))} / ${f(Math.min(...w))}   cpu ${f(median(cpus.get(c)!))}  [${calls.get(c)}]`);
}
const summary = Object.fromEntries(candidates.map((c) => [c.name, { median: median(walls.get(c)!), min: Math.min(...walls.get(c)!), cpu: median(cpus.get(c)!) }]));
console.log('\nJSON ' + JSON.stringify(summary));
ctx.destroy();
