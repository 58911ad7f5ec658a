/**
 * npm run experiment -- init: the book's weight-initialization experiment (ch. 6.2) on the GPU
 * (or --device cpu): activation statistics of five 100-unit layers for each activation and
 * initialization.
 */
import { CpuBackend } from '../backend/cpu-backend.js';
import type { Backend } from '../backend/backend.js';
import { GpuBackend } from '../backend/gpu-backend.js';
import { openNodeGpu } from '../device/discover-node.js';
import type { GpuContext } from '../gpu/gpu-context.js';
import { initActivations, INIT_RUNS, INIT_SETUP, type InitRun } from '../experiments/init-activations.js';
import type { Tensor } from '../tensor/tensor.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CpuDataset } from '../data/cpu-dataset.js';
import type { Dataset } from '../data/dataset.js';
import { GpuDataset } from '../data/gpu-dataset.js';
import { compareOptimizers, finalLevel } from '../experiments/optimizer-comparison.js';
import { lineChartSvg } from '../experiments/line-chart-svg.js';
import { finalGap, OVERFIT_SETUP, overfitting } from '../experiments/overfitting.js';
import { SHIFT_EPOCHS, SHIFTS, shiftAccuracy, type ShiftResult } from '../experiments/shift.js';
import { sliceSplit, type Mnist } from '../data/mnist.js';
import { loadMnist } from '../node/load-mnist.js';
import type { LearningProblem } from '../train/learning-check.js';
import { choiceFlag, intFlag, parseFlags, runCli, UsageError } from '../../tools/cli-args.js';
import { table } from '../../tools/format.js';
import { skippedLines } from './format.js';

const USAGE = `usage: npm run experiment -- init|optimizers|overfitting|shift [options]
  init                    activations of 5 layers x 100 units for sigmoid/ReLU x std 0.01 / 1 / Xavier / He
  optimizers              loss curves of SGD, Momentum, AdaGrad and Adam on MNIST (5 layers x 100 ReLU
                          units, batch 128): writes <date>-optimizers.json and .svg into --out
  overfitting             300 training images, 7 layers (6 x 100 ReLU), SGD lr 0.01: train vs test
                          accuracy per epoch without a cure, with weight decay 0.1, with dropout 0.2;
                          writes <date>-overfitting.json and .svg into --out
  shift                   trains the TwoLayerNet (5 epochs, SGD lr 0.1) and SimpleConvNet (1 epoch,
                          Adam lr 0.001) on MNIST, then scores both on the test set shifted by 0,
                          2, 4 and 6 pixels (mean over right, left, down, up); writes shift.json
                          into --out
  --device gpu|cpu        where to run (default gpu)
  --steps N               optimizers: steps per optimizer (default 2000, the book's)
  --epochs N              overfitting: epochs of 3 steps per run (default 201, the book's);
                          shift: training epochs of both nets (default 5 and 1)
  --out DIR               optimizers, overfitting: where the JSON and SVG go (default docs/experiments)
  --json                  print one JSON object as the last line
  --verbose               also say which GPU drivers device discovery passed over, and why
  --help                  this text
`;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const [name, ...rest] = argv;
  if (name === '--help' || name === undefined) return void process.stdout.write(USAGE);
  if (name !== 'init' && name !== 'optimizers' && name !== 'overfitting' && name !== 'shift') {
    throw new UsageError(`unknown experiment '${name}' (available: init, optimizers, overfitting, shift)`);
  }
  const f = parseFlags(rest, {
    device: { type: 'string' },
    steps: { type: 'string' },
    epochs: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
    verbose: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (f.help) return void process.stdout.write(USAGE);
  const device = choiceFlag(f.device, 'device', ['gpu', 'cpu'] as const, 'gpu');
  const steps = intFlag(f.steps, 'steps', 2000);
  const epochs = intFlag(f.epochs, 'epochs', OVERFIT_SETUP.epochs);
  let ctx: GpuContext | undefined;
  try {
    let backend: Backend<Tensor>;
    if (device === 'gpu') {
      ctx = await openNodeGpu();
      backend = new GpuBackend(ctx);
    } else {
      backend = new CpuBackend('f32');
    }
    process.stdout.write(`device: ${backend.device} — ${backend.label}\n`);
    if (f.verbose) for (const line of skippedLines(ctx)) process.stdout.write(`${line}\n`);
    if (name === 'optimizers') return await optimizers(backend, steps, f.out ?? 'docs/experiments', !!f.json);
    if (name === 'overfitting') return await overfit(backend, epochs, f.out ?? 'docs/experiments', !!f.json);
    if (name === 'shift') return await shift(backend, f.epochs === undefined ? undefined : epochs, f.out ?? 'docs/experiments', !!f.json);
    process.stdout.write(`${INIT_SETUP.inputs} inputs ~ N(0, 1) through ${INIT_SETUP.layers} layers of ${INIT_SETUP.units} units\n\n`);
    const runs: InitRun[] = [];
    for (const [activation, init] of INIT_RUNS) runs.push(await initActivations(backend, activation, init));
    const label = (r: InitRun) => `${r.activation}, ${typeof r.init === 'number' ? `std ${r.init}` : r.init}`;
    process.stdout.write(`${table([
      ['activation, init', ...runs[0]!.layers.map((l) => `layer ${l.layer} std`), 'in [0, 0.033)', 'in [0.967, 1]'],
      ...runs.map((r) => {
        const last = r.layers.at(-1)!;
        const total = last.histogram.reduce((a, b) => a + b, 0);
        return [label(r), ...r.layers.map((l) => l.std.toPrecision(3)), pct(last.histogram[0]! / total), pct(last.histogram.at(-1)! / total)];
      }),
    ])}\n`);
    process.stdout.write('\nlast two columns: share of layer 5 activations at the ends of [0, 1] (saturated or dead)\n');
    if (f.json) process.stdout.write(`${JSON.stringify({ device, setup: INIT_SETUP, runs })}\n`);
  } finally {
    ctx?.destroy();
  }
}

async function optimizers(backend: Backend<Tensor>, steps: number, outDir: string, json: boolean): Promise<void> {
  const mnist = await loadMnist();
  const [train, test]: Dataset<Tensor>[] =
    backend instanceof GpuBackend
      ? [new GpuDataset(backend, mnist.train), new GpuDataset(backend, mnist.test)]
      : [new CpuDataset(backend as CpuBackend, mnist.train), new CpuDataset(backend as CpuBackend, mnist.test)];
  process.stdout.write(`784-100-100-100-100-10 ReLU (He init), batch 128, ${steps} steps per optimizer, same weights and batches\n`);
  let printed = 0;
  const curves = await compareOptimizers(backend, train, test, steps, (opt, done) => {
    if (done < printed) printed = 0;
    if (done - printed >= steps / 4 || done === steps) {
      process.stdout.write(`  ${opt}: step ${done}/${steps}\n`);
      printed = done;
    }
  });
  process.stdout.write(`\n${table([
    ['optimizer', 'lr', 'loss, first 100 steps', 'loss, last 100 steps', 'test acc'],
    ...curves.map((c) => [c.optimizer, c.lr, mean(c.losses.slice(0, 100)).toFixed(4), finalLevel(c).toFixed(4), c.testAcc.toFixed(4)]),
  ])}\n`);
  const date = new Date().toISOString().slice(0, 10);
  await mkdir(outDir, { recursive: true });
  const result = { experiment: 'optimizers', date, device: backend.device, adapter: backend.label, steps, batch: 128, net: '784-100-100-100-100-10 relu he', curves };
  const base = join(outDir, `${date}-optimizers`);
  await writeFile(`${base}.json`, JSON.stringify(result));
  await writeFile(`${base}.svg`, lineChartSvg(curves.map((c) => ({ name: `${c.optimizer} (lr ${c.lr})`, values: c.losses })), `MNIST, 5 layers x 100 ReLU units: loss per step (${backend.device})`, 'loss'));
  process.stdout.write(`wrote ${base}.json and ${base}.svg\n`);
  reportLearning(curves.map((c) => [c.optimizer, c.learning]));
  train.dispose();
  test.dispose();
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
}

function datasets(backend: Backend<Tensor>, splits: Mnist['train'][]): Dataset<Tensor>[] {
  return splits.map((split) => (backend instanceof GpuBackend ? new GpuDataset(backend, split) : new CpuDataset(backend as CpuBackend, split)));
}

async function overfit(backend: Backend<Tensor>, epochs: number, outDir: string, json: boolean): Promise<void> {
  const mnist = await loadMnist();
  const { trainImages, testImagesPerEpoch, hiddenSizes, batch, lr } = OVERFIT_SETUP;
  const [train, testPerEpoch, fullTest] = datasets(backend, [sliceSplit(mnist.train, 0, trainImages), sliceSplit(mnist.test, 0, testImagesPerEpoch), mnist.test]);
  const net = `784-${hiddenSizes.join('-')}-10 relu he`;
  process.stdout.write(`${net}, ${trainImages} training images, batch ${batch}, SGD lr ${lr}, ${epochs} epochs; test accuracy per epoch on ${testImagesPerEpoch} images, at the end on all ${mnist.test.count}\n`);
  const every = Math.max(Math.round(epochs / 4), 1);
  const curves = await overfitting(backend, train!, testPerEpoch!, fullTest!, {
    epochs,
    onEpoch: (run, epoch, trainAcc, testAcc) => {
      if (epoch % every === 0 || epoch === epochs) process.stdout.write(`  ${run.name}: epoch ${epoch}/${epochs}  train ${trainAcc.toFixed(3)}  test ${testAcc.toFixed(3)}\n`);
    },
  });
  process.stdout.write(`\n${table([
    ['run', 'train acc (last 10 epochs)', 'test acc (last 10 epochs)', 'gap', `test acc, all ${mnist.test.count}`],
    ...curves.map((c) => [c.name, tailMean(c.trainAcc).toFixed(3), tailMean(c.testAcc).toFixed(3), finalGap(c).toFixed(3), c.finalTestAcc.toFixed(4)]),
  ])}\n`);
  const date = new Date().toISOString().slice(0, 10);
  await mkdir(outDir, { recursive: true });
  const result = { experiment: 'overfitting', date, device: backend.device, adapter: backend.label, epochs, setup: OVERFIT_SETUP, net, curves };
  const base = join(outDir, `${date}-overfitting`);
  await writeFile(`${base}.json`, JSON.stringify(result));
  const series = curves.flatMap((c, i) => [
    { name: `${c.name}, train`, values: c.trainAcc, color: i },
    { name: `${c.name}, test`, values: c.testAcc, color: i, dashed: true },
  ]);
  await writeFile(`${base}.svg`, lineChartSvg(series, `${trainImages} MNIST images, 7-layer net: accuracy per epoch (${backend.device})`, 'accuracy', 1, 'epoch'));
  process.stdout.write(`wrote ${base}.json and ${base}.svg\n`);
  reportLearning(curves.map((c) => [c.name, c.learning]));
  for (const d of [train, testPerEpoch, fullTest]) d!.dispose();
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function shift(backend: Backend<Tensor>, epochsFlag: number | undefined, outDir: string, json: boolean): Promise<void> {
  const mnist = await loadMnist();
  const dataset = (split: Mnist['train']) => datasets(backend, [split])[0]!;
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const results: ShiftResult[] = [];
  for (const net of ['mlp', 'simple-conv'] as const) {
    const epochs = epochsFlag ?? SHIFT_EPOCHS[net];
    log(`${net}: training ${epochs} epoch${epochs === 1 ? '' : 's'}, then scoring the shifted test sets`);
    results.push(await shiftAccuracy(backend, dataset, mnist, net, epochs, log));
  }
  log(`\n${table([
    ['net', 'training', ...SHIFTS.map((s) => `shift ${s} px`)],
    ...results.map((r) => [r.name, r.training, ...r.accuracy.map((a) => a.toFixed(4))]),
  ])}`);
  const date = new Date().toISOString().slice(0, 10);
  const result = {
    about: 'Test accuracy on the MNIST test set with every image moved by 0, 2, 4 and 6 pixels (the mean over right, left, down and up; zeros come in), after training on the centred training set. Written by npm run experiment -- shift.',
    date,
    device: backend.device,
    adapter: backend.label,
    shifts: SHIFTS,
    nets: results.map(({ learning, ...r }) => r),
  };
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, 'shift.json');
  await writeFile(file, `${JSON.stringify(result, null, 1)}\n`);
  log(`wrote ${file}`);
  reportLearning(results.map((r) => [r.name, r.learning]));
  if (json) log(JSON.stringify(result));
}

/** A run that did not learn fails the experiment, with the reason (learning-check.ts). */
function reportLearning(runs: [string, LearningProblem | null][]): void {
  for (const [name, problem] of runs) {
    if (!problem) continue;
    process.stderr.write(`error: the ${name} run did not learn: ${problem.message}\n`);
    process.exitCode = 1;
  }
}

function tailMean(values: number[], n = 10): number {
  return mean(values.slice(-n));
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

await runCli(USAGE, main);
