/**
 * Times the fused MLP step (shaders/mlp-step.wgsl: mlp_rows + mlp_update, in each form) against
 * the layer-by-layer step it replaces (GpuDataset.batch, net.gradient, SGD.update: 18 dispatches
 * for the seed's net), on real MNIST batches, after checking each fused form's loss and gradient
 * against the layer-by-layer net's on the same weights and batch.
 *
 *   node --import ./tools/register.mjs bench/mlp-step-kernels.ts [--reps 15] [--nets seed,deep,deep-sigmoid]
 *        [--variants hardware,software] [--tilings 10x13w4-8x13w8,...] [--parts]
 *
 * Nets: seed, the book's TwoLayerNet 784-50-10 ReLU; deep, 784-100-100-100-10 ReLU; deep-sigmoid,
 * the same with sigmoid; all batch 100, SGD lr 0.1, He (ReLU) or Xavier (sigmoid) weights, the
 * layer-by-layer net and the fused forms starting from the same values. `--tilings` adds software forms with other
 * blockings: rows x tn w wg - ti x tj w wgu (MlpTiling). `--parts` times each form's two kernels
 * alone too.
 *
 * A sample records `calls` steps (each as a user records it: the batch's indices uploaded, the
 * dispatches, a flush), waits for the queue and divides the CPU clock's time; `calls` is chosen
 * for ~40 ms a sample. Every round times each fused form right beside a sample of the
 * layer-by-layer step, the pair's order and the forms' order reversed every other round, so a
 * burst of load hits both sides of a ratio alike; the table gives medians and minimums of the
 * wall time and of the process's CPU time per step (SwiftShader's threads run in this process:
 * the work done, which other jobs on the machine disturb less), and each fused form the median
 * of its pairs' layer-by-layer/fused ratios (above 1: the fused step is faster). Results of the
 * runs quoted in shaders/mlp-step.wgsl's header.
 */
import { adapterLabel, GpuBackend, GpuDataset, GpuTensor, MultiLayerNet, SGD } from 'webgpu-backprop';
import { mlpLayout, mlpRowsGpu, mlpUpdateGpu, type MlpLayout } from 'webgpu-backprop/kernels';
import { loadMnist, openNodeGpu } from 'webgpu-backprop/node';
import { median } from './lib/stats.js';

interface NetShape {
  label: string;
  hidden: number[];
  activation: 'relu' | 'sigmoid';
}

const NETS: Record<string, NetShape> = {
  seed: { label: "the seed's TwoLayerNet 784-50-10, ReLU", hidden: [50], activation: 'relu' },
  deep: { label: '784-100-100-100-10, ReLU', hidden: [100, 100, 100], activation: 'relu' },
  'deep-sigmoid': { label: '784-100-100-100-10, sigmoid', hidden: [100, 100, 100], activation: 'sigmoid' },
};

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
};
const reps = Number(flag('--reps', '15'));
const chosen = flag('--nets', 'seed,deep,deep-sigmoid').split(',');
const parts = argv.includes('--parts');
const BATCH = 100;
const BATCHES = 8;

/** A fused form: its name and layout options. */
interface Form {
  name: string;
  options: Parameters<typeof mlpLayout>[3];
}
const forms: Form[] = flag('--variants', 'hardware,software')
  .split(',')
  .map((v) => {
    if (v !== 'hardware' && v !== 'software') throw new Error(`unknown variant '${v}': hardware or software`);
    return { name: v, options: { software: v === 'software' } };
  });
for (const t of flag('--tilings', '').split(',').filter(Boolean)) {
  const m = /^(\d+)x(\d+)w(\d+)-(\d+)x(\d+)w(\d+)$/.exec(t);
  if (!m) throw new Error(`tiling '${t}': rows x tn w wg - ti x tj w wgu, e.g. 10x13w4-8x13w8`);
  const [rows, tn, wg, ti, tj, wgu] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  forms.push({ name: `software ${t}`, options: { software: true, tiling: { rows, tn, wg, ti, tj, wgu } } });
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m / (scale || 1);
}

const ctx = await openNodeGpu('auto');
try {
  const gpu = new GpuBackend(ctx);
  console.log(`adapter: ${adapterLabel(ctx.adapter)}; ${reps} interleaved rounds, ms per step (loss left on the GPU)`);
  const mnist = await loadMnist();
  const ds = new GpuDataset(gpu, mnist.train);
  let seed = 12345;
  const batches = Array.from({ length: BATCHES }, () => Uint32Array.from({ length: BATCH }, () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % ds.count));

  for (const key of chosen) {
    const shape = NETS[key];
    if (!shape) throw new Error(`unknown net '${key}': pick from ${Object.keys(NETS).join(', ')}`);
    const widths = [784, ...shape.hidden, 10];
    const net = new MultiLayerNet(gpu, { inputSize: 784, hiddenSizes: shape.hidden, outputSize: 10, activation: shape.activation, weightInit: shape.activation === 'relu' ? 'he' : 'xavier', seed: 7 });
    const sgd = new SGD(gpu, 0.1);
    const params = net.params();
    // theta packed from the net's own parameters: W then b per layer.
    const values = await Promise.all(params.map((p) => gpu.read(p.value)));
    const size = values.reduce((n, v) => n + v.length, 0);
    const theta0 = new Float32Array(size);
    values.reduce((at, v) => (theta0.set(v, at), at + v.length), 0);

    // The layer-by-layer gradient on batch 0, from the same weights: what every fused form must match.
    const first = ds.batch(batches[0]!);
    const refLoss = (await gpu.read(net.gradient(first.x, first.t)))[0]!;
    const refGrad = new Float32Array(size);
    let at = 0;
    for (const p of params) {
      const g = await gpu.read(p.grad!);
      refGrad.set(g, at);
      at += g.length;
    }
    gpu.dispose(first.x, first.t);

    const idx = GpuTensor.empty(ctx, [BATCH], 'u32');
    const loss = GpuTensor.empty(ctx, [1]);
    const setup = forms.map((f) => {
      const layout: MlpLayout = mlpLayout(widths, Array(shape.hidden.length).fill(shape.activation), BATCH, f.options);
      return { ...f, layout, theta: GpuTensor.from(ctx, theta0, [size]), scratch: GpuTensor.empty(ctx, [layout.scratch]) };
    });
    const checks: string[] = [];
    for (const s of setup) {
      const grads = GpuTensor.empty(ctx, [size]);
      ctx.device.queue.writeBuffer(idx.buffer, 0, batches[0]!);
      mlpRowsGpu(ctx, s.layout, ds.resident, idx, s.theta, s.scratch);
      mlpUpdateGpu(ctx, s.layout, 'sgd', { lr: 0.1 }, ds.resident, idx, s.theta, s.scratch, undefined, loss, grads);
      const [g, l] = await Promise.all([grads.read(), loss.read()]);
      grads.dispose();
      const bad = Math.abs(l[0]! - refLoss) > 1e-4 || maxRel(g, refGrad) > 1e-4 || !refGrad.some((v) => v !== 0);
      const scale = refGrad.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      checks.push(`${s.name}: loss ${l[0]!.toFixed(5)} (layer by layer ${refLoss.toFixed(5)}), gradient max |Δ| ${(maxRel(g, refGrad) * scale).toExponential(1)} of max |g| ${scale.toExponential(2)}${bad ? '  MISMATCH' : ''}`);
      if (bad) throw new Error(`fused ${s.name} does not match the layer-by-layer step: ${checks.at(-1)}`);
    }

    let step = 0;
    const rows: { name: string; run: () => void }[] = [
      {
        name: 'layer by layer (batch, gradient, SGD update)',
        run: () => {
          const b = ds.batch(batches[step++ % BATCHES]!);
          const l = net.gradient(b.x, b.t);
          sgd.update(params);
          gpu.dispose(b.x, b.t, l);
          gpu.flush();
        },
      },
    ];
    for (const s of setup) {
      const upload = () => ctx.device.queue.writeBuffer(idx.buffer, 0, batches[step++ % BATCHES]!);
      const rowsK = () => mlpRowsGpu(ctx, s.layout, ds.resident, idx, s.theta, s.scratch);
      const updateK = () => mlpUpdateGpu(ctx, s.layout, 'sgd', { lr: 0.1 }, ds.resident, idx, s.theta, s.scratch, undefined, loss);
      rows.push({ name: `fused ${s.name}`, run: () => (upload(), rowsK(), updateK(), gpu.flush()) });
      if (parts) {
        rows.push({ name: `  ${s.name}: rows kernel`, run: () => (upload(), rowsK(), gpu.flush()) });
        rows.push({ name: `  ${s.name}: update kernel`, run: () => (updateK(), gpu.flush()) });
      }
    }
    // Process CPU time per step beside the wall clock: the work done, which other jobs on the
    // machine disturb less than the wall time (SwiftShader's threads run in this process).
    const cpu: number[][] = rows.map(() => []);
    let lastCpu = 0;
    const time = async (run: () => void, calls: number) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let c = 0; c < calls; c++) run();
      await ctx.finish();
      const c1 = process.cpuUsage(c0);
      lastCpu = (c1.user + c1.system) / 1000 / calls;
      return (performance.now() - t0) / calls;
    };
    const calls: number[] = [];
    for (const r of rows) {
      await time(r.run, 2);
      calls.push(Math.max(2, Math.min(40, Math.round(40 / (await time(r.run, 2))))));
    }
    // Each fused row is timed right beside a sample of the layer-by-layer step (the pair's order
    // flipping every round), and its ratio is taken within the pair: load that comes and goes
    // over seconds then hits both sides of a ratio alike.
    const samples: number[][] = rows.map(() => []);
    const ratios: number[][] = rows.map(() => []);
    for (let round = 0; round < reps; round++) {
      const order = rows.map((_, i) => i).slice(1);
      if (round % 2) order.reverse();
      for (const i of order) {
        const fusedRow = rows[i]!.name.startsWith('fused');
        if (!fusedRow) {
          samples[i]!.push(await time(rows[i]!.run, calls[i]!));
          cpu[i]!.push(lastCpu);
          continue;
        }
        const pair = round % 2 ? [i, 0] : [0, i];
        const t: number[] = [];
        for (const k of pair) {
          t.push(await time(rows[k]!.run, calls[k]!));
          cpu[k]!.push(lastCpu);
        }
        samples[pair[0]!]!.push(t[0]!);
        samples[pair[1]!]!.push(t[1]!);
        ratios[i]!.push(round % 2 ? t[1]! / t[0]! : t[0]! / t[1]!);
      }
    }
    console.log(`\n${shape.label}, batch ${BATCH}, SGD 0.1; ${checks.length} fused forms checked against the layer-by-layer gradient on the same weights:`);
    for (const c of checks) console.log(`  ${c}`);
    rows.forEach((r, i) => {
      const ms = samples[i]!;
      console.log(`  ${r.name.padEnd(52)} median ${median(ms).toFixed(2).padStart(7)}  min ${Math.min(...ms).toFixed(2).padStart(7)}  cpu median ${median(cpu[i]!).toFixed(2).padStart(7)} min ${Math.min(...cpu[i]!).toFixed(2).padStart(7)}`);
    });
    rows.forEach((r, i) => {
      const q = ratios[i]!;
      if (!q.length) return;
      console.log(`  layer by layer / ${r.name}: median ratio ${median(q).toFixed(2)}x (range ${Math.min(...q).toFixed(2)}-${Math.max(...q).toFixed(2)}); fused/layers ${(1 / median(q)).toFixed(2)}`);
    });
    for (const s of setup) gpu.dispose(s.theta, s.scratch);
    gpu.dispose(idx, loss);
    for (const p of params) gpu.dispose(p.value, p.grad);
  }
  ds.dispose();
} finally {
  ctx.destroy();
}
