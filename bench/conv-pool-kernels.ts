/**
 * Times the fused Conv → ReLU → max-pool kernels (shaders/conv-pool.wgsl) against the three ops
 * they replace, on SimpleConvNet's first block with a real MNIST batch (and DeepConvNet's
 * conv → pool blocks on random data), after checking the fused results against the unfused ones.
 *
 *   node --import ./tools/register.mjs bench/conv-pool-kernels.ts [--reps 15] [--shapes simple,deep1,deep2,deep3]
 *
 * forward: convForward + reluForward + maxPoolForward through a GpuBackend (for the MNIST batch
 * a data batch's layer: the row spans and the conv forward that skips empty parts, on a software
 * adapter) against convRowSpansGpu + convReluPoolForwardGpu (SKIP_ZEROS) and the dense fused
 * forward. Filter gradient: maxPoolBackward + reluBackward + convBackwardFilter against
 * convPoolBackwardFilterGpu. Each op runs once (compiling, allocating from the pool), its
 * dispatches are captured and replayed: a sample records `calls` copies into one submit, waits for
 * the queue and divides the CPU clock's time. Rows are interleaved round by round, alternating
 * the order; the table gives medians and minimums, and each comparison the median of the rounds'
 * unfused/fused ratios.
 */
import { adapterLabel, GpuBackend, GpuDataset, GpuTensor, convGeometry, convOutputShape, kernelName, poolGeometry, type Dispatch, type Shape } from 'webgpu-backprop';
import { convPoolBackwardFilterGpu, convReluPoolForwardGpu, convRowSpansGpu, POOL_NONE } from 'webgpu-backprop/kernels';
import { loadMnist, openNodeGpu } from 'webgpu-backprop/node';
import { median } from './lib/stats.js';

interface BlockShape {
  label: string;
  x: Shape;
  w: Shape;
  stride: number;
  pad: number;
}

/** SimpleConvNet's block and DeepConvNet's three conv → pool blocks (batch 100, MNIST). */
const SHAPES: Record<string, BlockShape> = {
  simple: { label: 'SimpleConvNet conv1 → relu → pool', x: [100, 1, 28, 28], w: [30, 1, 5, 5], stride: 1, pad: 0 },
  deep1: { label: 'DeepConvNet conv2 → relu → pool', x: [100, 16, 28, 28], w: [16, 16, 3, 3], stride: 1, pad: 1 },
  deep2: { label: 'DeepConvNet conv4 → relu → pool', x: [100, 32, 14, 14], w: [32, 32, 3, 3], stride: 1, pad: 2 },
  deep3: { label: 'DeepConvNet conv6 → relu → pool', x: [100, 64, 7, 7], w: [64, 64, 3, 3], stride: 1, pad: 1 },
};
const POOL = { poolH: 2, poolW: 2, stride: 2 };

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
};
const reps = Number(flag('--reps', '15'));
const chosen = flag('--shapes', 'simple').split(',');

function random(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((s / 2 ** 32) * 2 - 1) * scale;
  });
}

const size = (shape: Shape) => shape.reduce((a, b) => a * b, 1);

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) || (Number.isNaN(a[i]!) !== Number.isNaN(b[i]!) ? Infinity : 0));
  return m;
}

const ctx = await openNodeGpu('auto');
try {
  const gpu = new GpuBackend(ctx);
  const skipping = gpu.kernels.sparseInputs;
  console.log(`adapter: ${adapterLabel(ctx.adapter)}; ${reps} interleaved samples per row, ms per call; skipping zeros: ${skipping}`);
  const record = ctx.dispatch.bind(ctx);
  const mnist = chosen.includes('simple') ? await loadMnist() : undefined;

  for (const key of chosen) {
    const s = SHAPES[key];
    if (!s) throw new Error(`unknown shape '${key}': pick from ${Object.keys(SHAPES).join(', ')}`);
    const data = key === 'simple' && !!mnist;
    const args = { stride: s.stride, pad: s.pad, data };
    const cg = convGeometry(s.x, s.w, args);
    const pg = poolGeometry(convOutputShape(cg), POOL);
    const yShape = [pg.batch, pg.channels, pg.outH, pg.outW];
    let gx: GpuTensor;
    // The MNIST batch's rows [N, 784], which gx views as images.
    let rowsOfPixels: GpuTensor | undefined;
    let dataset: GpuDataset | undefined;
    if (data) {
      dataset = new GpuDataset(gpu, mnist!.train);
      let seed = 12345;
      const indices = Uint32Array.from({ length: s.x[0]! }, () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % dataset!.count);
      const batch = dataset.batch(indices);
      gpu.dispose(batch.t);
      rowsOfPixels = batch.x;
      gx = batch.x.view(s.x);
    } else {
      gx = gpu.fromArray(random(size(s.x), 1), s.x);
    }
    // He-like weights and small biases of both signs: ReLU zeroes a part of the outputs.
    const fanIn = size(s.w) / s.w[0]!;
    const gw = gpu.fromArray(random(size(s.w), 2, Math.sqrt(6 / fanIn)), s.w);
    const gb = gpu.fromArray(random(s.w[0]!, 3, 0.1), [s.w[0]!]);
    const gdy = gpu.fromArray(random(size(yShape), 4), yShape);

    const rows: { name: string; dispatches: Dispatch[] }[] = [];
    const capture = (name: string) => {
      const dispatches: Dispatch[] = [];
      ctx.dispatch = (d: Dispatch) => {
        dispatches.push(d);
        record(d);
      };
      rows.push({ name, dispatches });
    };
    // Unfused: the three ops the backend runs today.
    capture('forward, unfused (conv, relu, pool)');
    const conv = gpu.convForward(gx, gw, gb, args);
    const relu = gpu.reluForward(conv);
    const pool = gpu.maxPoolForward(relu.y, POOL);
    capture('filter gradient, unfused (pool, relu, conv backward)');
    const dPool = gpu.maxPoolBackward(gdy, pool.argmax, conv.shape, POOL);
    const dRelu = gpu.reluBackward(dPool, relu.mask);
    const unfused = gpu.convBackwardFilter(dRelu, gx, gw, args);
    // Fused.
    const y = GpuTensor.empty(ctx, yShape);
    const argmax = GpuTensor.empty(ctx, yShape, 'u32');
    const yDense = GpuTensor.empty(ctx, yShape);
    const argmaxDense = GpuTensor.empty(ctx, yShape, 'u32');
    capture('forward, fused dense');
    convReluPoolForwardGpu(ctx, cg, pg, gx, gw, gb, yDense, argmaxDense);
    let spans: GpuTensor | undefined;
    if (data && skipping) {
      capture('forward, fused skipping zeros (spans + forward)');
      spans = convRowSpansGpu(ctx, cg, gx);
      convReluPoolForwardGpu(ctx, cg, pg, gx, gw, gb, y, argmax, spans);
    }
    const fused = { dw: GpuTensor.empty(ctx, s.w), db: GpuTensor.empty(ctx, [s.w[0]!]) };
    capture('filter gradient, fused');
    convPoolBackwardFilterGpu(ctx, cg, pg, gdy, argmaxDense, gx, fused.dw, fused.db);
    ctx.dispatch = record;

    // The fused results against the unfused ops' (argmax: the unfused one is an index into the
    // ReLU output, which has the conv output's shape; NONE where y is 0).
    const [uy, ua] = [await gpu.read(pool.y), (await gpu.read(pool.argmax)) as Uint32Array];
    const want = Uint32Array.from(ua, (a, i) => (uy[i] === 0 ? POOL_NONE : a));
    const fy = await gpu.read(yDense);
    const fa = (await gpu.read(argmaxDense)) as Uint32Array;
    const argDiff = (a: Uint32Array) => a.reduce((k, v, i) => k + (v !== want[i] ? 1 : 0), 0);
    const none = want.reduce((k, v) => k + (v === POOL_NONE ? 1 : 0), 0);
    if (data) {
      const pixels = await gpu.read(gx);
      console.log(`\nMNIST batch: ${((100 * pixels.filter((v) => v === 0).length) / pixels.length).toFixed(1)}% zeros`);
    }
    const checks = [`y ${maxDiff(fy, uy).toExponential(1)}`, `argmax differs at ${argDiff(fa)}`];
    if (spans) checks.push(`skipping: y ${maxDiff(await gpu.read(y), uy).toExponential(1)}, argmax differs at ${argDiff((await gpu.read(argmax)) as Uint32Array)}`);
    checks.push(`dW ${maxDiff(await gpu.read(fused.dw), await gpu.read(unfused.dw)).toExponential(1)}`, `db ${maxDiff(await gpu.read(fused.db), await gpu.read(unfused.db)).toExponential(1)}`);

    const timed = rows.flatMap(({ name, dispatches }) => [
      { name, dispatches, workgroups: '' },
      ...(dispatches.length > 1 ? dispatches.map((d) => ({ name: `  ${kernelName(d.kernel)}`, dispatches: [d], workgroups: d.workgroups.join('x') })) : []),
    ]);
    const time = async (ds: Dispatch[], calls: number) => {
      const t0 = performance.now();
      for (let c = 0; c < calls; c++) for (const d of ds) record(d);
      await ctx.finish();
      return (performance.now() - t0) / calls;
    };
    // Calls per sample: enough for ~40 ms, so submit and wake-up costs amortize.
    const calls: number[] = [];
    for (const r of timed) {
      await time(r.dispatches, 1);
      calls.push(Math.max(1, Math.min(50, Math.round(40 / (await time(r.dispatches, 1))))));
    }
    const samples: number[][] = timed.map(() => []);
    for (let round = 0; round < reps; round++) {
      const order = timed.map((_, i) => i);
      if (round % 2) order.reverse();
      for (const i of order) samples[i]!.push(await time(timed[i]!.dispatches, calls[i]!));
    }
    console.log(`\n${s.label}: x[${s.x.join(',')}] W[${s.w.join(',')}] stride ${s.stride} pad ${s.pad}, pool 2x2 stride 2 → y[${yShape.join(',')}]${data ? ' (an MNIST batch)' : ''}`);
    console.log(`  fused vs unfused on the GPU: ${checks.join(', ')}; ${((100 * none) / want.length).toFixed(1)}% of the pooled outputs are 0 (NONE)`);
    timed.forEach((r, i) => {
      const ms = samples[i]!;
      console.log(`  ${r.name.padEnd(62)} ${r.workgroups.padStart(8)}  median ${median(ms).toFixed(2).padStart(7)}  min ${Math.min(...ms).toFixed(2).padStart(7)}`);
    });
    const row = (name: string) => timed.findIndex((r) => r.name === name);
    const pairs: [string, number, number][] = [
      ['forward, fused dense', row('forward, unfused (conv, relu, pool)'), row('forward, fused dense')],
      ['filter gradient', row('filter gradient, unfused (pool, relu, conv backward)'), row('filter gradient, fused')],
    ];
    if (spans) pairs.splice(1, 0, ['forward, fused skipping zeros', row('forward, unfused (conv, relu, pool)'), row('forward, fused skipping zeros (spans + forward)')]);
    for (const [name, a, b] of pairs) {
      const ratios = samples[a]!.map((v, i) => v / samples[b]![i]!);
      console.log(`  unfused / ${name}: median ratio ${median(ratios).toFixed(2)}x (range ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`);
    }
    gpu.dispose(gx, gw, gb, gdy, conv, relu.y, relu.mask, pool.y, pool.argmax, dPool, dRelu, unfused.dw, unfused.db, y, argmax, yDense, argmaxDense, fused.dw, fused.db, spans, rowsOfPixels);
    dataset?.dispose();
  }
} finally {
  ctx.destroy();
}
