/**
 * Times each dispatch of the convolution kernels (shaders/conv.wgsl) at the shapes the book's
 * conv nets train with, and checks each op against the float64 CPU backend first.
 *
 *   node --import ./tools/register.mjs bench/conv-kernels.ts [--reps 11] [--shapes simple,deep3,deep5]
 *
 * Each op runs once through GpuBackend (compiling its pipelines, allocating from the pool); its
 * dispatches are captured as the backend records them and then replayed alone: a sample records
 * `calls` copies into one submit, waits for the queue to finish and divides the CPU clock's
 * elapsed time. Samples of all dispatches are interleaved round by round (so a burst of load on
 * a shared machine hits them all alike); the table gives the median and the minimum. A whole op
 * (both passes of the filter gradient) is timed the same way.
 */
import { adapterLabel, CpuBackend, GpuBackend, kernelName, type Dispatch, type Shape } from 'webgpu-backprop';
import { openNodeGpu } from 'webgpu-backprop/node';
import { median } from './lib/stats.js';

interface ConvShape {
  label: string;
  x: Shape;
  w: Shape;
  stride: number;
  pad: number;
}

/** SimpleConvNet's convolution and two of DeepConvNet's (batch 100, MNIST). */
const SHAPES: Record<string, ConvShape> = {
  simple: { label: 'SimpleConvNet conv1', x: [100, 1, 28, 28], w: [30, 1, 5, 5], stride: 1, pad: 0 },
  deep3: { label: 'DeepConvNet conv3', x: [100, 16, 14, 14], w: [32, 16, 3, 3], stride: 1, pad: 1 },
  deep5: { label: 'DeepConvNet conv5', x: [100, 32, 8, 8], w: [64, 32, 3, 3], stride: 1, pad: 1 },
};

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
};
const reps = Number(flag('--reps', '11'));
const chosen = flag('--shapes', 'simple,deep3').split(',');

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

const size = (shape: Shape) => shape.reduce((a, b) => a * b, 1);

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) || (Number.isNaN(a[i]!) ? Infinity : 0));
  return m;
}

const ctx = await openNodeGpu('auto');
try {
  console.log(`adapter: ${adapterLabel(ctx.adapter)}; ${reps} interleaved samples per row, ms per call`);
  const gpu = new GpuBackend(ctx);
  const cpu = new CpuBackend('f64');
  const record = ctx.dispatch.bind(ctx);

  for (const key of chosen) {
    const s = SHAPES[key];
    if (!s) throw new Error(`unknown shape '${key}': pick from ${Object.keys(SHAPES).join(', ')}`);
    const args = { stride: s.stride, pad: s.pad };
    const x = random(size(s.x), 1);
    const w = random(size(s.w), 2);
    const b = random(s.w[0]!, 3);
    const [gx, gw, gb] = [gpu.fromArray(x, s.x), gpu.fromArray(w, s.w), gpu.fromArray(b, [s.w[0]!])];
    const [cx, cw, cb] = [cpu.fromArray(x, s.x), cpu.fromArray(w, s.w), cpu.fromArray(b, [s.w[0]!])];

    // One run of each op, its dispatches captured; the results checked against the CPU.
    const ops: { name: string; dispatches: Dispatch[] }[] = [];
    const capture = (name: string) => {
      const dispatches: Dispatch[] = [];
      ctx.dispatch = (d: Dispatch) => {
        dispatches.push(d);
        record(d);
      };
      ops.push({ name, dispatches });
    };
    capture('forward');
    const y = gpu.convForward(gx, gw, gb, args);
    const dy = random(y.size, 4);
    const gdy = gpu.fromArray(dy, y.shape);
    const cdy = cpu.fromArray(dy, y.shape);
    capture('filter gradient');
    const { dw, db } = gpu.convBackwardFilter(gdy, gx, gw, args);
    capture('data gradient');
    const dx = gpu.convBackwardData(gdy, gw, s.x, args);
    ctx.dispatch = record;
    const ref = { y: cpu.convForward(cx, cw, cb, args), ...cpu.convBackwardFilter(cdy, cx, cw, args), dx: cpu.convBackwardData(cdy, cw, s.x, args) };
    const diffs = [
      `y ${maxDiff(await gpu.read(y), ref.y.data).toExponential(1)}`,
      `dW ${maxDiff(await gpu.read(dw), ref.dw.data).toExponential(1)}`,
      `db ${maxDiff(await gpu.read(db), ref.db.data).toExponential(1)}`,
      `dx ${maxDiff(await gpu.read(dx), ref.dx.data).toExponential(1)}`,
    ];

    // Rows: each dispatch alone, and each op of more than one dispatch whole.
    const rows = ops.flatMap(({ name, dispatches }) => [
      ...dispatches.map((d) => ({ name: `${name}: ${kernelName(d.kernel)}`, dispatches: [d], workgroups: d.workgroups.join('x') })),
      ...(dispatches.length > 1 ? [{ name: `${name}: whole op`, dispatches, workgroups: '' }] : []),
    ]);
    const time = async (ds: Dispatch[], calls: number) => {
      const t0 = performance.now();
      for (let c = 0; c < calls; c++) for (const d of ds) record(d);
      await ctx.finish();
      return (performance.now() - t0) / calls;
    };
    // Calls per sample: enough for ~40 ms, so submit and wake-up costs amortize.
    const calls = [];
    for (const r of rows) {
      await time(r.dispatches, 1);
      calls.push(Math.max(1, Math.min(50, Math.round(40 / (await time(r.dispatches, 1))))));
    }
    const samples: number[][] = rows.map(() => []);
    for (let round = 0; round < reps; round++) {
      const order = rows.map((_, i) => i);
      if (round % 2) order.reverse();
      for (const i of order) samples[i]!.push(await time(rows[i]!.dispatches, calls[i]!));
    }
    console.log(`\n${s.label}: x[${s.x.join(',')}] W[${s.w.join(',')}] stride ${s.stride} pad ${s.pad} → y[${y.shape.join(',')}]`);
    console.log(`  max |gpu - cpu f64|: ${diffs.join(', ')}`);
    rows.forEach((r, i) => {
      const ms = samples[i]!;
      console.log(`  ${r.name.padEnd(44)} ${r.workgroups.padStart(8)}  median ${median(ms).toFixed(2).padStart(7)}  min ${Math.min(...ms).toFixed(2).padStart(7)}`);
    });
    gpu.dispose(gx, gw, gb, gdy, y, dw, db, dx);
  }
} finally {
  ctx.destroy();
}
