/**
 * The conv section in the bench page: every engine in this one page, so they share the page's
 * adapter and interleave round by round exactly as in Node (convBench). NumPy is not among them:
 * it runs in python3 beside Node only.
 */
import type { GpuContext } from 'webgpu-backprop';
import { convBatchCount, convBench, type ConvBenchResult } from '../lib/conv-bench.js';
import { initialConvParams } from '../lib/conv-model.js';
import { BROWSER_CONV_ENGINES, convOpeners, convSources, type BrowserConvEngineName } from '../lib/conv-sources.js';
import { batchSchedule, type BenchData } from '../lib/data.js';
import type { Plan } from '../lib/plan.js';

function browserEngines(names: readonly string[]): BrowserConvEngineName[] {
  const foreign = names.filter((n) => !(BROWSER_CONV_ENGINES as readonly string[]).includes(n));
  // The runner's options already refuse these; a page asked for one says so rather than drop it.
  if (foreign.length) throw new Error(`the bench page cannot run ${foreign.join(', ')} (NumPy runs only in Node)`);
  return names as BrowserConvEngineName[];
}

/**
 * Chromium exposes gc() only under --js-flags=--expose-gc, which the runner sets
 * (bench/browser/launch.ts): the garbage one engine leaves (TF.js makes plenty) is then collected
 * between steps, untimed, as Node does, rather than inside the next engine's step.
 */
function exposedGc(): (() => void) | undefined {
  return (globalThis as { gc?: () => void }).gc;
}

export async function convTask(plan: Plan, data: BenchData, gpu: () => Promise<GpuContext>, log: (line: string) => void): Promise<ConvBenchResult> {
  const conv = plan.conv;
  const engines = browserEngines(conv.engines);
  const spec = { batch: conv.batch, lr: conv.lr, seed: plan.seed };
  const batches = batchSchedule(plan.seed, data.mnist.train.count, spec.batch, convBatchCount(conv));
  const init = await initialConvParams(plan.seed);
  const open = convOpeners({ gpu, mnist: data.mnist, init, spec }, { tfjs: async () => (await import('./tfjs-peer.js')).pageTfjs() });
  const settle = exposedGc();
  if (!settle) log('conv: gc() is not exposed in this page; garbage is collected whenever V8 decides, possibly inside a step');
  return convBench(convSources(engines, open), batches, conv, spec, log, { settle });
}
