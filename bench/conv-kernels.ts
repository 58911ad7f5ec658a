/**
 * Times each dispatch of the convolution kernels (shaders/conv.wgsl) at the shapes the book's
 * conv nets train with, and checks each op against the float64 CPU backend first.
 *
 *   node --import ./tools/register.mjs bench/conv-kernels.ts [--reps 11] [--shapes simple,deep3,deep5]
 *       [--mnist] [--steps 0]
 *
 * Each op runs once through GpuBackend (compiling its pipelines, allocating from the pool); its
 * dispatches are captured as the backend records them and then replayed alone: a sample records
 * `calls` copies into one submit, waits for the queue to finish and divides the CPU clock's
 * elapsed time. Samples of all dispatches are interleaved round by round (so a burst of load on
 * a shared machine hits them all alike); the table gives the median and the minimum. A whole op
 * (both passes of the filter gradient) is timed the same way.
 *
 * --mnist: a shape of 1 x 28 x 28 images convolves a real MNIST batch (a GpuDataset batch of the
 * training set) instead of random values, and its forward and filter gradient also run as a
 * data batch's layer does on a software adapter (skipZeroRows: the kernels skip empty parts
 * of the image); the rows compare the two, the ratio being the median of the rounds' ratios.
 * --steps K: then K interleaved samples of SimpleConvNet's whole training step (batch 100, SGD):
 * the defaults against the fused Conv → Relu → Pool layer turned off ({ fused: false }) and
 * against a GpuBackend with { sparseInputs: false } (dense conv and first-layer kernels, as before
 * skipZeroRows), the same batches and weights in all three.
 */
import { adapterLabel, CpuBackend, GpuBackend, GpuDataset, kernelName, SGD, SimpleConvNet, type Dispatch, type GpuTensor, type Shape } from 'webgpu-backprop';
import { loadMnist, openNodeGpu } from 'webgpu-backprop/node';
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
const useMnist = argv.includes('--mnist');
const steps = Number(flag('--steps', '0'));

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

/** Batches of 100 training images, the same ones on every run. */
function batchIndices(count: number, total: number): Uint32Array[] {
  let s = 12345;
  return Array.from({ length: count }, () =>
    Uint32Array.from({ length: 100 }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s % total;
    }),
  );
}

const ctx = await openNodeGpu('auto');
try {
  console.log(`adapter: ${adapterLabel(ctx.adapter)}; ${reps} interleaved samples per row, ms per call`);
  const gpu = new GpuBackend(ctx);
  // The kernels a data batch's layer takes on a software adapter, whatever this adapter is.
  const skipping = new GpuBackend(ctx, { sparseInputs: true });
  const cpu = new CpuBackend('f64');
  const record = ctx.dispatch.bind(ctx);
  const mnist = useMnist || steps > 0 ? await loadMnist() : undefined;
  const dataset = mnist ? new GpuDataset(gpu, mnist.train) : undefined;

  for (const key of chosen) {
    const s = SHAPES[key];
    if (!s) throw new Error(`unknown shape '${key}': pick from ${Object.keys(SHAPES).join(', ')}`);
    const args = { stride: s.stride, pad: s.pad };
    const real = !!dataset && s.x[1] === 1 && s.x[2] === 28 && s.x[3] === 28;
    let x = random(size(s.x), 1);
    if (real) {
      const batch = dataset.batch(batchIndices(1, dataset.count)[0]!.slice(0, s.x[0]!));
      x = (await gpu.read(batch.x)) as Float32Array;
      gpu.dispose(batch.x, batch.t);
      console.log(`\nMNIST batch: ${((100 * x.filter((v) => v === 0).length) / x.length).toFixed(1)}% zeros`);
    }
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
    let skipped: { y: GpuTensor; dw: GpuTensor; db: GpuTensor } | undefined;
    if (real) {
      const dataArgs = { ...args, data: true };
      capture('forward, skipping zeros');
      const sy = skipping.convForward(gx, gw, gb, dataArgs);
      capture('filter gradient, skipping zeros');
      skipped = { y: sy, ...skipping.convBackwardFilter(gdy, gx, gw, dataArgs) };
    }
    ctx.dispatch = record;
    const ref = { y: cpu.convForward(cx, cw, cb, args), ...cpu.convBackwardFilter(cdy, cx, cw, args), dx: cpu.convBackwardData(cdy, cw, s.x, args) };
    const diffs = [
      `y ${maxDiff(await gpu.read(y), ref.y.data).toExponential(1)}`,
      `dW ${maxDiff(await gpu.read(dw), ref.dw.data).toExponential(1)}`,
      `db ${maxDiff(await gpu.read(db), ref.db.data).toExponential(1)}`,
      `dx ${maxDiff(await gpu.read(dx), ref.dx.data).toExponential(1)}`,
    ];
    if (skipped) {
      diffs.push(
        `skipping: y ${maxDiff(await gpu.read(skipped.y), ref.y.data).toExponential(1)}`,
        `dW ${maxDiff(await gpu.read(skipped.dw), ref.dw.data).toExponential(1)}`,
        `db ${maxDiff(await gpu.read(skipped.db), ref.db.data).toExponential(1)}`,
      );
    }

    // Rows: each dispatch alone, and each op of more than one dispatch whole.
    // (SimpleConvNet never computes its data batch's dx: not timed with a real batch.)
    const rows = ops.filter(({ name }) => !(real && name === 'data gradient')).flatMap(({ name, dispatches }) => [
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
      console.log(`  ${r.name.padEnd(58)} ${r.workgroups.padStart(8)}  median ${median(ms).toFixed(2).padStart(7)}  min ${Math.min(...ms).toFixed(2).padStart(7)}`);
    });
    if (skipped) {
      // Old over new, round by round: the dense op against the one skipping zeros.
      const whole = (name: string) => rows.findIndex((r) => r.name === `${name}: whole op`);
      const single = (name: string) => rows.findIndex((r) => r.name.startsWith(`${name}: `));
      const pairs: [string, number, number][] = [
        ['forward (spans + forward)', single('forward'), whole('forward, skipping zeros')],
        ['filter gradient (whole op)', whole('filter gradient'), whole('filter gradient, skipping zeros')],
      ];
      for (const [name, a, b] of pairs) {
        const ratios = samples[a]!.map((v, i) => v / samples[b]![i]!);
        console.log(`  dense / skipping, ${name}: median ratio ${median(ratios).toFixed(2)}x (range ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`);
      }
      gpu.dispose(skipped.y, skipped.dw, skipped.db);
    }
    gpu.dispose(gx, gw, gb, gdy, y, dw, db, dx);
  }

  if (steps > 0 && dataset) {
    // SimpleConvNet's training step as the defaults run it, against each choice turned off: the
    // zero-skipping kernels (sparseInputs) and the fused Conv → Relu → Pool layer (fused).
    const variants = [
      { label: 'sparseInputs off (dense)', be: new GpuBackend(ctx, { sparseInputs: false }), fused: true },
      { label: 'fused off (three layers)', be: new GpuBackend(ctx), fused: false },
      { label: 'adapter default', be: new GpuBackend(ctx), fused: true },
    ];
    const nets = variants.map(({ be, fused }) => {
      const net = new SimpleConvNet(be, { fused });
      return { be, net, opt: new SGD(be, 0.01), params: net.params() };
    });
    const batches = batchIndices(8, dataset.count);
    const step = async (k: number, i: number) => {
      const { be, net, opt, params } = nets[k]!;
      const { x, t } = dataset.batch(batches[i % batches.length]!);
      net.gradient(x, t, i);
      opt.update(params);
      be.dispose(x, t);
      await ctx.finish();
    };
    // Warm-up: pipelines compile, the pool fills.
    for (let k = 0; k < nets.length; k++) for (let i = 0; i < 2; i++) await step(k, i);
    const ms: number[][] = nets.map(() => []);
    for (let i = 0; i < steps; i++) {
      // The order rotates, so no variant always follows the same one.
      for (let j = 0; j < nets.length; j++) {
        const k = (i + j) % nets.length;
        const t0 = performance.now();
        await step(k, i);
        ms[k]!.push(performance.now() - t0);
      }
    }
    const last = ms.length - 1;
    console.log(`\nSimpleConvNet training step (batch 100, SGD), ${steps} interleaved samples, ms:`);
    variants.forEach(({ label }, k) => console.log(`  ${label.padEnd(26)} median ${median(ms[k]!).toFixed(1)}  min ${Math.min(...ms[k]!).toFixed(1)}`));
    for (let k = 0; k < last; k++) {
      const ratios = ms[k]!.map((v, i) => v / ms[last]![i]!);
      console.log(`  ${variants[k]!.label} / default: median ratio ${median(ratios).toFixed(2)}x (range ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`);
    }
    for (const { net } of nets) net.dispose();
  }
  dataset?.dispose();
} finally {
  ctx.destroy();
}
