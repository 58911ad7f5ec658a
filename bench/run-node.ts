/**
 * npm run bench: in Node through Dawn, the seed's TwoLayerNet training step on our GPU and CPU
 * devices and on the peers the browser bench runs (TF.js webgpu, wasm and cpu, jax-js webgpu:
 * their WebGPU on navigator.gpu from Dawn, the adapter ours gets), so one run on one machine
 * compares every engine on one adapter; then the host time to record and submit a step, each
 * kernel family, dispatch and readback overhead, and the CPU-vs-GPU crossover. The conv section
 * (`--only conv`) times the book's SimpleConvNet on ours, TF.js, jax-js and the book's NumPy
 * code, interleaved in this process.
 */
import { adapterLabel, CpuBackend, type GpuContext } from 'webgpu-backprop';
import { pollGently } from 'webgpu-backprop/node';
import { runCli } from '../tools/cli-args.js';
import { nodeData } from './cli/data.js';
import { loadAverage, machine } from './cli/machine.js';
import { parseOptions, usage } from './cli/options.js';
import { convOnlyTag, printResult, progress, writeResult } from './cli/output.js';
import { convEngineSources, garbageCollector } from './cli/conv-engines.js';
import { stepPlanFor, stepTrainer } from './cli/step-engines.js';
import { withGpu } from './cli/with-gpu.js';
import { convBatchCount, convBench } from './lib/conv-bench.js';
import { initialConvParams } from './lib/conv-model.js';
import { crossoverBench } from './lib/crossover.js';
import { hostTimeBench } from './lib/host-time.js';
import { batchSchedule } from './lib/data.js';
import { ENGINE_NAMES } from './lib/engine.js';
import { kernelBench } from './lib/kernels.js';
import { oursGpuBackend, oursGpuVsCpu } from './lib/ours.js';
import { overheadBench } from './lib/overhead.js';
import { totalSteps } from './lib/plan.js';
import { engineEntry, SCHEMA, settingsOf, skipNote, withRatios, type BenchResult, type EngineEntry } from './lib/result.js';
import { longRun } from './lib/long-run.js';

const USAGE = usage('npm run bench', ENGINE_NAMES);

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), ENGINE_NAMES);
  if (options === 'help') return void process.stdout.write(USAGE);
  const { plan, sections } = options;
  const started = performance.now();
  const loadBefore = loadAverage();
  const data = await nodeData(options.mnist, plan.seed, plan.quick);
  const spec = { hidden: plan.hidden, lr: plan.lr, seed: plan.seed };
  const result: BenchResult = {
    schema: SCHEMA,
    where: 'node',
    date: new Date().toISOString(),
    quick: plan.quick,
    adapter: null,
    environment: { ...machine(), load_before: loadBefore },
    settings: settingsOf(plan, { source: data.source, trainCount: data.mnist.train.count, testCount: data.mnist.test.count }),
    engines: {},
    engine_errors: {},
    notes: [],
    runtime_s: 0,
  };
  const noteAdapter = (ctx: GpuContext) => {
    result.adapter ??= { ...ctx.adapter, label: adapterLabel(ctx.adapter) };
  };

  const tag = convOnlyTag(sections);
  // The file is written after every section, so a run cut short (a lent GPU's time limit, Ctrl-C)
  // keeps what it measured; `incomplete` names the sections done until the last write drops it.
  const done: string[] = [];
  const keep = async (section: string) => {
    done.push(section);
    if (done.length < sections.length) await writeResult({ ...result, incomplete: `only ${done.join(', ')} of ${sections.join(', ')} done` }, options.out, tag);
  };

  if (sections.includes('steps')) {
    const batches = batchSchedule(plan.seed, data.mnist.train.count, plan.batch, totalSteps(plan.train));
    const engines: Record<string, EngineEntry> = {};
    const train = stepTrainer({ adapter: options.adapter, mnist: data.mnist, spec, batch: plan.batch, onDevice: noteAdapter });
    for (const name of options.engines) {
      progress(`training ${name}`);
      try {
        engines[name] = engineEntry(await train(name, stepPlanFor(name, plan), batches, progress));
      } catch (e) {
        result.engine_errors[name] = (e as Error).message.split('\n')[0]!;
        progress(`${name} failed: ${(e as Error).message}`);
      }
    }
    result.engines = withRatios(engines);
    await keep('steps');
  }
  // A section that fails is reported in the notes and the rest still run.
  const attempt = async (section: string, f: () => Promise<void>) => {
    if (!sections.includes(section as never)) return;
    progress(section);
    try {
      await f();
    } catch (e) {
      result.notes.push(`${section}: failed: ${(e as Error).message}`);
      progress(`${section} failed: ${(e as Error).message}`);
    }
    await keep(section);
  };
  await attempt('gpu-vs-cpu', async () => {
    result.gpu_vs_cpu = await withGpu(options.adapter, async (ctx) => {
      noteAdapter(ctx);
      return oursGpuVsCpu(ctx, data.mnist, plan, progress);
    });
    // The same comparison with the GPU device on the fused step, npm start's default on a GPU.
    result.gpu_vs_cpu_fused = await withGpu(options.adapter, async (ctx) => oursGpuVsCpu(ctx, data.mnist, plan, progress, true));
  });
  await attempt('host', async () => {
    result.host_time = await withGpu(options.adapter, async (ctx) => {
      noteAdapter(ctx);
      return hostTimeBench(await oursGpuBackend(ctx), data.mnist, plan.hostTime, plan.seed, progress);
    });
  });
  await attempt('kernels', async () => {
    result.kernels = await withGpu(options.adapter, async (ctx) => {
      noteAdapter(ctx);
      return kernelBench(await oursGpuBackend(ctx), plan, progress);
    });
    for (const k of result.kernels) if (k.skipped) result.notes.push(skipNote(k, !!result.adapter?.software));
  });
  await attempt('overhead', async () => {
    result.overhead = await withGpu(options.adapter, async (ctx) => {
      noteAdapter(ctx);
      return overheadBench(await oursGpuBackend(ctx), plan);
    });
  });
  await attempt('crossover', async () => {
    result.crossover = await withGpu(options.adapter, async (ctx) => {
      noteAdapter(ctx);
      return crossoverBench(await oursGpuBackend(ctx), new CpuBackend('f32'), data.mnist, plan, progress);
    });
  });
  await attempt('long-run', async () => {
    result.long_run = await withGpu(options.adapter, async (ctx) => {
      noteAdapter(ctx);
      // The target is a real GPU's; on a software adapter 10,000 steps take minutes and say
      // nothing new (npm start -- --steps 10000 times them). A quick run still checks the path.
      if (ctx.adapter.software && !plan.quick) return { skipped: `${plan.longRunSteps} steps are the real-GPU target; not run on a software adapter` };
      const r = await longRun(await oursGpuBackend(ctx), data.mnist, spec, plan.longRunSteps, plan.batch, progress);
      for (const run of r.runs) {
        progress(`long run, ${run.fused ? 'fused' : 'layer by layer'}, ${run.stepsPerSubmit} a submit: ${run.steps} steps in ${(run.trainWallMs / 1000).toFixed(2)} s (${run.msPerStep.toFixed(3)} ms/step, losses read every ${run.readEvery}), evaluation ${(run.evalWallMs / 1000).toFixed(2)} s, test accuracy ${run.testAccuracy.toFixed(4)}`);
      }
      return r;
    });
  });
  await attempt('conv', async () => {
    const conv = plan.conv;
    const spec = { batch: conv.batch, lr: conv.lr, seed: plan.seed };
    result.settings.conv = { ...conv, seed: plan.seed };
    result.conv = await withGpu(options.adapter, async (ctx) => {
      noteAdapter(ctx);
      const batches = batchSchedule(plan.seed, data.mnist.train.count, spec.batch, convBatchCount(conv));
      const init = await initialConvParams(plan.seed);
      // Ours polls gently already (a software adapter's GpuContext in Node); the peers do when asked.
      const waitFor = conv.peerWaits === 'gentle' ? (name: string, loss: Promise<number>) => (name.startsWith('ours') ? loss : pollGently(loss)) : undefined;
      return convBench(convEngineSources(conv.engines, ctx, data.mnist, init, spec, batches), batches, conv, spec, progress, { settle: garbageCollector(), waitFor });
    });
  });
  result.environment.load_after = loadAverage();
  result.runtime_s = Number(((performance.now() - started) / 1000).toFixed(1));
  printResult(result, await writeResult(result, options.out, tag), options.json);
}

await runCli(USAGE, main);
