/**
 * The bench page: built by Vite from the same sources as the demo and the Node bench, driven by
 * bench/run-browser.ts through window.bench.run, one task per fresh page.
 */
import { adapterLabel, CpuBackend, describeAdapter, fetchMnist, openBrowserGpu, type GpuContext } from 'webgpu-backprop';
import { defaultMatmulVariant, MATMUL_VARIANTS } from 'webgpu-backprop/kernels';
import { crossoverBench } from '../lib/crossover.js';
import { crossoverSvg } from '../lib/crossover-svg.js';
import { hostTimeBench } from '../lib/host-time.js';
import { batchSchedule, syntheticData, type BenchData, type DataSource } from '../lib/data.js';
import type { EngineName, TrainingEngine } from '../lib/engine.js';
import { kernelBench } from '../lib/kernels.js';
import type { MatmulEngineSource } from '../lib/matmul-engine.js';
import { matmulVsTfjs } from '../lib/matmul-vs-tfjs.js';
import { initialParams, type ModelSpec } from '../lib/model.js';
import { oursMatmulSource } from '../lib/ours-matmul.js';
import { oursCpu, oursGpu, oursGpuBackend, oursGpuFused, oursGpuVsCpu } from '../lib/ours.js';
import { overheadBench } from '../lib/overhead.js';
import { totalSteps, type Plan } from '../lib/plan.js';
import type { BenchPageApi, PageInfo, PageTask } from '../lib/tasks.js';
import { runTraining } from '../lib/train-bench.js';
import { convTask } from './conv-task.js';

declare global {
  interface Window {
    bench: BenchPageApi;
  }
}

const logEl = document.getElementById('log')!;
/** Shown on the page and forwarded by Playwright to the runner's progress output. */
function log(line: string): void {
  logEl.textContent += `${line}\n`;
  console.log(`[bench] ${line}`);
}

async function loadData(source: DataSource, plan: Plan): Promise<BenchData> {
  if (source === 'synthetic') return syntheticData(plan.seed, plan.quick);
  return { source, mnist: await fetchMnist('/mnist') };
}

async function info(): Promise<PageInfo> {
  const adapter = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
  return {
    adapter: adapter ? describeAdapter(adapter, 'navigator.gpu') : null,
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
    crossOriginIsolated: globalThis.crossOriginIsolated,
  };
}

async function engineFor(name: EngineName, data: BenchData, spec: ModelSpec, batch: number, gpu: () => Promise<GpuContext>): Promise<TrainingEngine> {
  switch (name) {
    case 'ours-gpu':
      return oursGpu(await gpu(), data.mnist, spec);
    case 'ours-gpu-fused':
      return oursGpuFused(await gpu(), data.mnist, spec, batch);
    case 'ours-cpu':
      return oursCpu(data.mnist, spec);
    case 'tfjs-webgpu':
    case 'tfjs-wasm':
    case 'tfjs-cpu': {
      const { tfjsPageEngine } = await import('./tfjs-peer.js');
      return tfjsPageEngine(name.slice('tfjs-'.length) as 'webgpu' | 'wasm' | 'cpu', data.mnist, await initialParams(spec), spec);
    }
    case 'jax-webgpu': {
      const { jaxEngine } = await import('../peers/jax.js');
      return jaxEngine(data.mnist, await initialParams(spec), spec, batch);
    }
  }
}

/**
 * Our variants (the adapter's default first; only it in a quick run) and TF.js webgpu, each on
 * its own device from this page's one adapter.
 */
async function matmulVsTfjsTask(ctx: GpuContext, plan: Plan) {
  await oursGpuBackend(ctx); // compiles the default pipelines up front, as training does
  const chosen = defaultMatmulVariant(ctx.adapter);
  const variants = plan.allVariants ? [chosen, ...MATMUL_VARIANTS.filter((v) => v !== chosen)] : [chosen];
  let tfjs: MatmulEngineSource | Error;
  try {
    const { tfjsMatmulSource } = await import('../peers/tfjs-matmul.js');
    tfjs = await tfjsMatmulSource();
  } catch (e) {
    tfjs = e as Error;
  }
  const ours = variants.map((variant) => ({ variant, source: oursMatmulSource(ctx, variant, variant === chosen) }));
  return matmulVsTfjs({ ours, tfjs }, plan, log);
}

async function run(task: PageTask): Promise<unknown> {
  let ctx: GpuContext | undefined;
  const gpu = async () => (ctx ??= await openBrowserGpu());
  try {
    switch (task.kind) {
      case 'info':
        return await info();
      case 'train': {
        const { plan } = task;
        const t0 = performance.now();
        const data = await loadData(task.data, plan);
        const spec = { hidden: plan.hidden, lr: plan.lr, seed: plan.seed };
        const batches = batchSchedule(plan.seed, data.mnist.train.count, plan.batch, totalSteps(plan.train));
        const t1 = performance.now();
        const engine = await engineFor(task.engine, data, spec, plan.batch, gpu);
        log(`${task.engine}: data ${((t1 - t0) / 1000).toFixed(1)} s, engine setup ${((performance.now() - t1) / 1000).toFixed(1)} s (not timed)`);
        try {
          return await runTraining(engine, plan.train, batches, log);
        } finally {
          engine.dispose();
        }
      }
      case 'kernels':
        return await kernelBench(await oursGpuBackend(await gpu()), task.plan, log);
      case 'matmul-vs-tfjs':
        return await matmulVsTfjsTask(await gpu(), task.plan);
      case 'overhead':
        return await overheadBench(await oursGpuBackend(await gpu()), task.plan);
      case 'host':
        return await hostTimeBench(await oursGpuBackend(await gpu()), (await loadData(task.data, task.plan)).mnist, task.plan.hostTime, task.plan.seed, log);
      case 'conv':
        return await convTask(task.plan, await loadData(task.data, task.plan), gpu, log);
      case 'gpu-vs-cpu':
        return await oursGpuVsCpu(await gpu(), (await loadData(task.data, task.plan)).mnist, task.plan, log);
      case 'crossover': {
        const data = await loadData(task.data, task.plan);
        const result = await crossoverBench(await oursGpuBackend(await gpu()), new CpuBackend('f32'), data.mnist, task.plan, log);
        document.getElementById('chart')!.innerHTML = crossoverSvg(result, `browser, ${adapterLabel((await gpu()).adapter)}`);
        return result;
      }
    }
  } finally {
    ctx?.destroy();
  }
}

window.bench = { run: run as BenchPageApi['run'] };
