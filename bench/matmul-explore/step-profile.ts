/**
 * Where a training step's GPU time goes: records one step of the seed's net (784-50-10, batch
 * 100, SGD, a real MNIST batch) on GpuBackend as npm start runs it, then replays each of its
 * dispatches alone, `--reps` times in one submit, and reports the median time per dispatch
 * (wall time of a submit divided by its reps, the work finished). Also times the whole step
 * replayed from the same dispatches, and the CPU device's step.
 *
 *   node --import ./tools/register.mjs bench/matmul-explore/step-profile.ts [--reps 20] [--rounds 5]
 *
 * Also: the dispatches outside the first layer replayed together, the step with two small
 * dispatches left out against the whole step (interleaved), and the whole replay with its wait
 * started only after sleeping (what WaitPacer does).
 *
 * Per-dispatch times include SwiftShader's fixed cost per dispatch, which is the point: the
 * sum shows what fewer, larger dispatches could save.
 */
import {
  adapterLabel,
  CpuBackend,
  CpuDataset,
  GpuBackend,
  GpuDataset,
  kernelName,
  MultiLayerNet,
  Rng,
  sampleIndices,
  SGD,
  Trainer,
  type Dispatch,
} from 'webgpu-backprop';
import { loadMnist, openNodeGpu } from 'webgpu-backprop/node';
import { median } from '../lib/stats.js';

const argv = process.argv.slice(2);
const arg = (k: string, d: number) => {
  const i = argv.indexOf(k);
  return i >= 0 ? Number(argv[i + 1]) : d;
};
const reps = arg('--reps', 20);
const rounds = arg('--rounds', 5);

const mnist = await loadMnist();
const ctx = await openNodeGpu('auto');
console.log(`adapter: ${adapterLabel(ctx.adapter)}`);
try {
  const gpu = new GpuBackend(ctx);
  await gpu.prepare();
  const train = new GpuDataset(gpu, mnist.train);
  const net = new MultiLayerNet(gpu, { hiddenSizes: [50], seed: 42 });
  const trainer = new Trainer(net, train, train, new SGD(gpu, 0.1));
  const rng = new Rng(7);
  const step = () => {
    trainer.step(0, sampleIndices(rng, mnist.train.count, 100));
    gpu.flush();
  };
  for (let i = 0; i < 3; i++) step();
  await ctx.finish();

  // Capture one step's dispatches (buffers stay valid: the pool recycles, never frees).
  const captured: Dispatch[] = [];
  const record = ctx.dispatch.bind(ctx);
  ctx.dispatch = (d: Dispatch) => {
    captured.push(d);
    record(d);
  };
  step();
  await ctx.finish();
  ctx.dispatch = record;

  const time = async (ds: Dispatch[], n: number) => {
    const t0 = performance.now();
    for (let r = 0; r < n; r++) for (const d of ds) record(d);
    await ctx.finish();
    return (performance.now() - t0) / n;
  };
  const per: number[][] = captured.map(() => []);
  const whole: number[] = [];
  const steps: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < captured.length; i++) per[i]!.push(await time([captured[i]!], reps));
    whole.push(await time(captured, reps));
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) step();
    await ctx.finish();
    steps.push((performance.now() - t0) / reps);
  }
  // The step without its first layer (gather, compress, the two sparse products): what the
  // other, small dispatches cost together.
  const small = captured.filter((d) => !/^(gather|sparse)\./.test(kernelName(d.kernel)));
  const rest: number[] = [];
  for (let round = 0; round < rounds; round++) rest.push(await time(small, reps));
  console.log(`the ${small.length} dispatches outside the first layer, replayed together: ${median(rest).toFixed(2)} ms`);
  // What two fewer small dispatches would save (the loss's second sum pass and the softmax
  // backward), interleaved with the whole step.
  const fewer = captured.filter((d, i) => !(kernelName(d.kernel) === 'softmax.xent_backward_index' || (kernelName(d.kernel) === 'reduce.sum_chunks' && captured[i - 1] && kernelName(captured[i - 1]!.kernel) === 'reduce.sum_chunks')));
  const ab: Record<string, number[]> = { all: [], fewer: [] };
  for (let round = 0; round < 2 * rounds; round++) {
    for (const k of round % 2 ? ['all', 'fewer'] : ['fewer', 'all']) ab[k]!.push(await time(k === 'all' ? captured : fewer, reps));
  }
  console.log(`${captured.length} vs ${fewer.length} dispatches replayed, interleaved: ${median(ab.all!).toFixed(2)} vs ${median(ab.fewer!).toFixed(2)} ms`);
  // The same replay with the wait for the GPU started only after sleeping through most of the
  // expected time: Dawn's event polling while a map is pending runs on the main thread, and on a
  // software adapter it competes with the shader threads for the same cores.
  const est = median(whole) * reps;
  const slept: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) for (const d of captured) record(d);
    ctx.submit();
    await new Promise((resolve) => setTimeout(resolve, est * 0.9));
    await ctx.finish();
    slept.push((performance.now() - t0) / reps);
  }
  console.log(`replayed together, polling only after ${(est * 0.9).toFixed(0)} ms asleep: ${median(slept).toFixed(2)} ms/step`);
  let sum = 0;
  captured.forEach((d, i) => {
    const ms = median(per[i]!);
    sum += ms;
    console.log(`${ms.toFixed(3).padStart(7)} ms  ${kernelName(d.kernel).padEnd(44)} ${d.workgroups.join('x').padEnd(10)} ${d.shapes}`);
  });
  console.log(`${captured.length} dispatches, sum ${sum.toFixed(2)} ms; replayed together ${median(whole).toFixed(2)} ms; real step (recording included) ${median(steps).toFixed(2)} ms`);

  const cpu = new CpuBackend('f32');
  const cpuTrain = new CpuDataset(cpu, mnist.train);
  const cpuNet = new MultiLayerNet(cpu, { hiddenSizes: [50], seed: 42 });
  const cpuTrainer = new Trainer(cpuNet, cpuTrain, cpuTrain, new SGD(cpu, 0.1));
  const cpuSteps: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) {
      cpuTrainer.step(0, sampleIndices(rng, mnist.train.count, 100));
    }
    cpuSteps.push((performance.now() - t0) / reps);
  }
  console.log(`cpu device step ${median(cpuSteps).toFixed(2)} ms`);
} finally {
  ctx.destroy();
}
