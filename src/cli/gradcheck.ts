/**
 * npm run gradcheck: the book's gradient_check.py. A 784-50-10 TwoLayerNet, the first 3 MNIST
 * training images; for W1, b1, W2, b2 the mean |difference| of numerical vs backprop gradients
 * on the CPU (f64) and on the GPU (f32). With --timing, the chapter's point: how much slower the
 * numerical gradient is than backprop on a 100-image batch. With --net simple-conv, ch. 7's
 * check (ch07/gradient_check.py): a SimpleConvNet of 10 3x3 filters and 10 hidden units on one
 * random 1x10x10 image of label 1.
 */
import { CpuBackend } from '../backend/cpu-backend.js';
import { GpuBackend } from '../backend/gpu-backend.js';
import { normalizePixels, sliceSplit, type MnistSplit } from '../data/mnist.js';
import type { Backend } from '../backend/backend.js';
import { openNodeGpu } from '../device/discover-node.js';
import { loadMnist } from '../node/load-mnist.js';
import { preparesFor } from '../nn/layer.js';
import { MultiLayerNet, TwoLayerNet, type NetConfig } from '../nn/multi-layer-net.js';
import type { Tensor } from '../tensor/tensor.js';
import { Rng } from '../data/rng.js';
import { SimpleConvNet } from '../nn/conv-nets.js';
import type { Sequential } from '../nn/sequential.js';
import { backpropGradients, compareGradients } from '../train/gradient-check.js';
import { numericalGradient, numericalGradients } from '../train/numerical-gradient.js';
import type { CpuTensor } from '../tensor/cpu-tensor.js';
import { intFlag, nonNegativeFlag, parseFlags, runCli, UsageError } from '../../tools/cli-args.js';
import { median, sci, table } from '../../tools/format.js';
import { skippedLines } from './format.js';

const USAGE = `usage: npm run gradcheck -- [options]
  --net mlp|simple-conv
                the net (default mlp: the TwoLayerNet); simple-conv checks ch. 7's
                SimpleConvNet on a random 1x10x10 image, as the book's ch07/gradient_check.py
  --images N    training images in the check (default 3, as in the book)
  --seed N      weight initialization seed (default 42)
  --batch-norm  check a net with a BatchNorm layer after the hidden Affine (ch. 6)
  --dropout R   check a net with a Dropout layer of ratio R after the hidden ReLU (ch. 6;
                one fixed training mask, the same on both devices)
  --timing      also time numerical vs backprop gradients on a 100-image batch
  --full        with --timing, compute the whole numerical gradient instead of extrapolating
  --json        print one JSON object as the last line
  --verbose     also say which GPU drivers device discovery passed over, and why
  --help        this text
`;

/** The net a check runs on both devices, and the batch it checks on. */
interface CheckCase {
  name: string;
  build<T extends Tensor>(be: Backend<T>): Sequential<T>;
  batch<T extends Tensor>(be: Backend<T>): { x: T; t: T };
}

/** ch07/gradient_check.py: input_dim (1, 10, 10), 10 filters 3x3, hidden 10, std 0.01; x = rand(1, 1, 10, 10), t = [1]. */
function simpleConvCase(seed: number, images: number): CheckCase {
  const rng = new Rng(seed + 1);
  const pixels = Float64Array.from({ length: images * 100 }, () => rng.next());
  const labels = Array.from({ length: images }, (_, i) => (i === 0 ? 1 : rng.int(10)));
  return {
    name: 'SimpleConvNet (1x10x10 input, 10 filters 3x3, hidden 10)',
    build: (be) => new SimpleConvNet(be, { inputDim: [1, 10, 10], filterNum: 10, filterSize: 3, hiddenSize: 10, outputSize: 10, weightInitStd: 0.01, seed }),
    batch: (be) => ({ x: be.fromArray(pixels, [images, 1, 10, 10]), t: be.labels(labels, 10) }),
  };
}

function batch<T extends Tensor>(be: Backend<T>, split: MnistSplit) {
  const x = be.fromArray(normalizePixels(split.pixels, Float64Array), [split.count, 784]);
  const t = be.labels(split.labels, 10);
  return { x, t };
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), {
    net: { type: 'string' },
    images: { type: 'string' },
    seed: { type: 'string' },
    'batch-norm': { type: 'boolean' },
    dropout: { type: 'string' },
    timing: { type: 'boolean' },
    full: { type: 'boolean' },
    json: { type: 'boolean' },
    verbose: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (flags.help) return void process.stdout.write(USAGE);
  const net = flags.net ?? 'mlp';
  if (net !== 'mlp' && net !== 'simple-conv') throw new UsageError(`--net must be mlp or simple-conv, got '${net}'`);
  if (net === 'simple-conv' && (flags['batch-norm'] || flags.dropout !== undefined || flags.timing)) {
    throw new UsageError('--batch-norm, --dropout and --timing check the MLP only; --net simple-conv is the book\'s ch. 7 check');
  }
  const images = intFlag(flags.images, 'images', net === 'simple-conv' ? 1 : 3);
  const seed = intFlag(flags.seed, 'seed', 42, 0);
  const dropoutRatio = flags.dropout === undefined ? 0 : nonNegativeFlag(flags.dropout, 'dropout');
  if (dropoutRatio >= 1) throw new UsageError(`--dropout is the fraction of units dropped, in [0, 1), got ${flags.dropout}`);
  // The book's TwoLayerNet, optionally with ch. 6's layers in its hidden layer.
  const config: Partial<NetConfig> = { inputSize: 784, hiddenSizes: [50], outputSize: 10, weightInitStd: 0.01, seed, batchNorm: !!flags['batch-norm'], dropoutRatio };
  const netName = ['784-50-10 TwoLayerNet', config.batchNorm && 'BatchNorm', dropoutRatio > 0 && `Dropout ${dropoutRatio}`].filter(Boolean).join(' + ');
  const log = (s: string) => process.stdout.write(`${s}\n`);

  const mnist = net === 'mlp' ? await loadMnist() : undefined;
  const check: CheckCase = mnist
    ? {
        name: netName,
        build: (be) => new MultiLayerNet(be, config),
        batch: (be) => batch(be, sliceSplit(mnist.train, 0, images)),
      }
    : simpleConvCase(seed, images);
  const ctx = await openNodeGpu();
  try {
    const gpuBe = new GpuBackend(ctx);
    const gpuNet = check.build(gpuBe);
    await gpuBe.prepare([], preparesFor(gpuNet.layers));
    log(`adapter: ${gpuBe.label}`);
    if (flags.verbose) skippedLines(ctx).forEach(log);
    const cpuBe = new CpuBackend('f64');
    const cpuNet = check.build(cpuBe);
    const c = check.batch(cpuBe);
    const g = check.batch(gpuBe);
    const numerical = numericalGradients(cpuNet, c.x, c.t);
    const cpuGrad = await backpropGradients(cpuNet, c.x, c.t);
    const gpuGrad = await backpropGradients(gpuNet, g.x, g.t);
    const vsCpu = compareGradients(cpuGrad, numerical);
    const vsGpu = compareGradients(gpuGrad, numerical);
    const cpuVsGpu = compareGradients(gpuGrad, cpuGrad);
    const rows = vsCpu.map((d, i) => ({
      param: d.name,
      numerical_vs_cpu: d.meanAbsDiff,
      numerical_vs_gpu: vsGpu[i]!.meanAbsDiff,
      cpu_vs_gpu: cpuVsGpu[i]!.meanAbsDiff,
    }));
    const inputs = mnist ? `first ${images} MNIST training images` : `${images} random image${images === 1 ? '' : 's'}`;
    log(`\nmean |difference| of gradients, ${check.name}, ${inputs}\n`);
    log(table([
      ['param', 'numerical vs CPU backprop (f64)', 'numerical vs GPU backprop (f32)', 'CPU vs GPU backprop'],
      ...rows.map((r) => [r.param, sci(r.numerical_vs_cpu), sci(r.numerical_vs_gpu), sci(r.cpu_vs_gpu)]),
    ]));

    const timing = flags.timing && mnist ? await timeGradients(cpuBe, gpuBe, mnist.train, seed, !!flags.full, log) : undefined;
    gpuNet.dispose();
    if (flags.json) log(JSON.stringify({ adapter: ctx.adapter, net: check.name, images, seed, gradients: rows, timing }));
  } finally {
    ctx.destroy();
  }
}

/**
 * Backprop vs numerical gradient on a 100-image batch. The full numerical gradient takes
 * minutes in JavaScript, so by default it is measured on a sample of coordinates (all of b1,
 * W2, b2 and 500 of W1's 39,200) and extrapolated per coordinate; --full measures all of it.
 */
async function timeGradients(cpuBe: CpuBackend, gpuBe: GpuBackend, train: MnistSplit, seed: number, full: boolean, log: (s: string) => void) {
  const split = sliceSplit(train, 0, 100);
  const net = new TwoLayerNet(cpuBe, 784, 50, 10, 0.01, seed);
  const { x, t } = batch(cpuBe, split);
  const backpropMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    net.gradient(x, t);
    backpropMs.push(performance.now() - t0);
  }
  const lossValue = () => (net.loss(x, t) as CpuTensor).data[0]!;
  let probed = 0;
  let total = 0;
  const t0 = performance.now();
  for (const p of net.params()) {
    const data = p.value.data as Float64Array;
    total += data.length;
    const sample = full || p.name !== 'W1' ? data : data.subarray(0, 500);
    numericalGradient(lossValue, sample);
    probed += sample.length;
  }
  const numericalMs = ((performance.now() - t0) / probed) * total;

  const gpuNet = new TwoLayerNet(gpuBe, 784, 50, 10, 0.01, seed);
  const g = batch(gpuBe, split);
  const gpuMs: number[] = [];
  for (let i = 0; i < 6; i++) {
    const t1 = performance.now();
    gpuNet.gradient(g.x, g.t);
    await gpuBe.ctx.finish();
    if (i > 0) gpuMs.push(performance.now() - t1);
  }
  gpuNet.dispose();
  const cpuBackprop = median(backpropMs);
  const gpuBackprop = median(gpuMs);
  log(`\ngradient of all ${total} parameters, batch of 100 images\n`);
  log(table([
    ['method', 'time', 'vs CPU backprop'],
    [`numerical, CPU f64${full ? '' : ` (measured on ${probed} params, extrapolated)`}`, `${(numericalMs / 1000).toFixed(1)} s`, `${(numericalMs / cpuBackprop).toFixed(0)}x slower`],
    ['backprop, CPU f64 (median of 5)', `${cpuBackprop.toFixed(1)} ms`, '1x'],
    ['backprop, GPU f32 (median of 5, finished)', `${gpuBackprop.toFixed(1)} ms`, ratioText(cpuBackprop / gpuBackprop)],
  ]));
  return { params: total, probed, extrapolated: !full, numerical_ms: numericalMs, cpu_backprop_ms: cpuBackprop, gpu_backprop_ms: gpuBackprop, ratio_numerical_to_backprop: numericalMs / cpuBackprop };
}

function ratioText(speedup: number): string {
  return speedup >= 1 ? `${speedup.toFixed(2)}x faster` : `${(1 / speedup).toFixed(2)}x slower`;
}

await runCli(USAGE, main);
