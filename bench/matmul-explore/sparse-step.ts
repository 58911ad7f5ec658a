/**
 * What the sparse kernels would do to a whole training step: the seed's net (784-50-10, batch
 * 100, SGD, real MNIST batches) on three engines in one process, the same batches and initial
 * weights:
 *   gpu dense    GpuBackend as it is (unrolled matmuls on a software adapter)
 *   gpu sparse   the same, with the first layer's two products on the sparse kernels: a
 *                GpuBackend subclass defined here, standing in for the integration (it does not
 *                touch src/backend)
 *   gpu sparse+order
 *                the same, the panels of xᵀ taken in imageStripOrder(28, 28)
 *   gpu floor    not a real step: the first layer's products are skipped (zeros), which times
 *                everything else in the step
 *   cpu          CpuBackend f32, the device to beat
 *
 *   node --import ./tools/register.mjs bench/matmul-explore/sparse-step.ts [--rounds N] [--window W]
 *
 * Each round runs every engine, in an order that flips every round, for W steps with one loss
 * readback at the end (ms/step = wall / W, the work finished), then W steps reading the loss
 * back after each (median ms/step). Reported: medians over the rounds. The sparse engines must
 * end at the same loss as the dense one (float32 rounding apart) or the run stops.
 */
import { adapterLabel, CpuBackend, GpuBackend, GpuTensor, Rng, sampleIndices, type GpuContext, type MatmulArgs } from 'webgpu-backprop';
import { loadMnist, openNodeGpu } from 'webgpu-backprop/node';
import { imageStripOrder, sparseCompressGpu, sparseListsTensor, sparseMatmulGpu, sparseTrainingKernels } from 'webgpu-backprop/kernels';
import type { TrainingEngine } from '../lib/engine.js';
import { cpuDatasets, gpuDatasets, oursEngine } from '../lib/ours.js';
import { median } from '../lib/stats.js';

const argv = process.argv.slice(2);
const arg = (k: string) => {
  const i = argv.indexOf(k);
  return i >= 0 ? argv[i + 1] : undefined;
};
const rounds = Number(arg('--rounds') ?? 9);
const window = Number(arg('--window') ?? 20);
const spec = { hidden: 50, lr: 0.1, seed: 42 };

/**
 * The integration, in miniature: a product whose A is the batch the first layer saw (x·W1 + b1,
 * then xᵀ·dout) goes to the sparse kernels; x is compressed (both orientations, one dispatch)
 * when it first shows up. The lists tensor is allocated once and rewritten every step.
 */
class SparseFirstLayer extends GpuBackend {
  private x: GpuTensor | undefined;
  private lists: GpuTensor | undefined;
  /** The strip order of 28 x 28 images' pixels, for the panels of xᵀ; none: 0, 1, 2, ... */
  private readonly order: GpuTensor | undefined;

  constructor(ctx: GpuContext, withOrder: boolean) {
    super(ctx);
    this.order = withOrder ? GpuTensor.from(ctx, imageStripOrder(28, 28), [784], 'u32') : undefined;
  }

  override async prepare(): Promise<void> {
    await super.prepare();
    await this.ctx.pipelines.prepare(sparseTrainingKernels('none', !!this.order));
  }

  override matmul(a: GpuTensor, b: GpuTensor, args: MatmulArgs = {}): GpuTensor {
    const firstLayer = a.shape[1] === 784 && !args.transB && !args.activation;
    if (firstLayer && !args.transA && args.bias) {
      this.lists ??= sparseListsTensor(this.ctx, a);
      sparseCompressGpu(this.ctx, a, this.lists, { order: this.order });
      this.x = a;
      const y = GpuTensor.empty(this.ctx, [a.shape[0]!, b.shape[1]!]);
      sparseMatmulGpu(this.ctx, a, this.lists, b, args.bias as GpuTensor, y);
      return y;
    }
    if (a === this.x && args.transA && !args.bias && this.lists) {
      const dW = GpuTensor.empty(this.ctx, [a.shape[1]!, b.shape[1]!]);
      sparseMatmulGpu(this.ctx, a, this.lists, b, undefined, dW, { transA: true, order: this.order });
      return dW;
    }
    return super.matmul(a, b, args);
  }
}

/**
 * Not a training engine: the first layer's two products are not computed at all (zeros come
 * back), which times the rest of the step, the floor any first-layer kernel sits on.
 */
class FirstLayerSkipped extends GpuBackend {
  override matmul(a: GpuTensor, b: GpuTensor, args: MatmulArgs = {}): GpuTensor {
    const firstLayer = a.shape[1] === 784 && !args.transB && !args.activation;
    if (firstLayer && !args.transA) return this.zeros([a.shape[0]!, b.shape[1]!]);
    if (firstLayer && args.transA) return this.zeros([a.shape[1]!, b.shape[1]!]);
    return super.matmul(a, b, args);
  }
}

const mnist = await loadMnist();
// One device for both GPU engines: a second one would bring a second pool of SwiftShader worker
// threads competing with the first.
const ctx = await openNodeGpu();
console.log(`adapter: ${adapterLabel(ctx.adapter)}`);
const dense = new GpuBackend(ctx);
await dense.prepare();
const sparse = new SparseFirstLayer(ctx, false);
await sparse.prepare();
const ordered = new SparseFirstLayer(ctx, true);
await ordered.prepare();
const skipped = new FirstLayerSkipped(ctx);
await skipped.prepare();
const cpu = new CpuBackend('f32');
const engines: TrainingEngine[] = [
  oursEngine('gpu dense', dense, gpuDatasets(dense, mnist), spec, ''),
  oursEngine('gpu sparse', sparse, gpuDatasets(sparse, mnist), spec, ''),
  oursEngine('gpu sparse+order', ordered, gpuDatasets(ordered, mnist), spec, ''),
  oursEngine('gpu floor', skipped, gpuDatasets(skipped, mnist), spec, ''),
  oursEngine('cpu', cpu, cpuDatasets(cpu, mnist), spec, ''),
];

// Every engine trains on the same batches in the same order.
const rng = new Rng(7);
const batches = Array.from({ length: 10 + rounds * 2 * window }, () => sampleIndices(rng, mnist.train.count, 100));
let next = 0;
const take = () => batches[next++]!;

const losses = new Map<TrainingEngine, number>();
const perWindow = new Map<TrainingEngine, number[]>(engines.map((e) => [e, []]));
const perStep = new Map<TrainingEngine, number[]>(engines.map((e) => [e, []]));
// Process CPU time per step over the window: SwiftShader's threads are ours, so this is the work
// done whatever else the machine runs (wall time is not, on a shared machine).
const cpuPerWindow = new Map<TrainingEngine, number[]>(engines.map((e) => [e, []]));
const warmStart = next;
for (const e of engines) {
  next = warmStart;
  // The last warm-up step's dispatches show the sparse path is taken (traced for that step only).
  for (let i = 0; i < 3; i++) {
    ctx.tracing = e === engines[2] && i === 2;
    e.step(take());
  }
  ctx.tracing = false;
  if (e === engines[2]) for (const d of ctx.lastTrace) console.log(`  sparse step: ${d.kernel} ${d.shapes}`);
  losses.set(e, await e.readLoss());
}
for (let r = 0; r < rounds; r++) {
  const start = next;
  for (const e of r % 2 === 0 ? engines : [...engines].reverse()) {
    next = start;
    const c0 = process.cpuUsage();
    let t0 = performance.now();
    for (let i = 0; i < window; i++) e.step(take());
    losses.set(e, await e.readLoss());
    perWindow.get(e)!.push((performance.now() - t0) / window);
    const used = process.cpuUsage(c0);
    cpuPerWindow.get(e)!.push((used.user + used.system) / 1000 / window);
    for (let i = 0; i < window; i++) {
      t0 = performance.now();
      e.step(take());
      losses.set(e, await e.readLoss());
      perStep.get(e)!.push(performance.now() - t0);
    }
  }
}

console.log(`loss after ${next} steps: ${engines.map((e) => `${e.name} ${losses.get(e)}`).join(', ')}`);
const denseLoss = losses.get(engines[0]!)!;
for (const e of engines.slice(1, 3)) {
  if (!(Math.abs(losses.get(e)! - denseLoss) < 1e-4 * Math.max(1, Math.abs(denseLoss)))) throw new Error(`${e.name} trains differently from the dense GPU step`);
}

const f = (x: number) => x.toFixed(2).padStart(7);
console.log(`\nms per step over ${rounds} rounds, median (min): wall reading the loss back every ${window} steps | every step | process CPU time (every ${window} steps)`);
for (const e of engines) {
  const [w, s, c] = [perWindow, perStep, cpuPerWindow].map((m) => m.get(e)!);
  console.log(`  ${e.name.padEnd(16)} ${f(median(w!))} (${f(Math.min(...w!))}) | ${f(median(s!))} (${f(Math.min(...s!))}) | ${f(median(c!))} (${f(Math.min(...c!))})`);
}
const summary = engines.map((e) => [e.name, {
  window: median(perWindow.get(e)!), windowMin: Math.min(...perWindow.get(e)!),
  step: median(perStep.get(e)!), stepMin: Math.min(...perStep.get(e)!),
  cpu: median(cpuPerWindow.get(e)!),
}]);
console.log('\nJSON ' + JSON.stringify(Object.fromEntries(summary)));
for (const e of engines) e.dispose();
ctx.destroy();
