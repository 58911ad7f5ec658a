/**
 * npm run bench:browser: Playwright drives headless Chromium through the bench page (its own
 * Vite server on 127.0.0.1). Ours on the GPU and the CPU, TensorFlow.js (webgpu, wasm, cpu) and
 * jax-js (webgpu) train the same net on the same batches, each in a fresh browser context; then
 * the kernel, overhead and crossover sections, each in a fresh page too. The conv section
 * (`--only conv`) times SimpleConvNet's step on ours, TF.js and jax-js, all in one page.
 */
import type { Browser, Page } from 'playwright-core';
import { adapterLabel } from 'webgpu-backprop';
import { launch, launchOrder, type Launched } from './browser/launch.js';
import { startBenchServer } from './browser/server.js';
import { runCli } from '../tools/cli-args.js';
import { loadAverage, machine } from './cli/machine.js';
import { BROWSER_SECTIONS, parseOptions, usage } from './cli/options.js';
import { convOnlyTag, printResult, progress, writeResult } from './cli/output.js';
import { ENGINE_NAMES } from './lib/engine.js';
import { matmulVsTfjsNotes } from './lib/matmul-vs-tfjs.js';
import { engineEntry, SCHEMA, settingsOf, skipNote, withRatios, type BenchResult, type EngineEntry } from './lib/result.js';
import type { PageResults, PageTask } from './lib/tasks.js';

const USAGE = usage('npm run bench:browser', ENGINE_NAMES, BROWSER_SECTIONS, 'browser');
/** A task that has not answered by then is reported as failed rather than hanging the bench. */
const TASK_TIMEOUT_MS = 8 * 60_000;

/** Runs one task in a fresh browser context (its own page, storage and GPU device). */
async function inFreshPage<K extends PageTask['kind']>(browser: Browser, url: string, task: Extract<PageTask, { kind: K }>): Promise<PageResults[K]> {
  const context = await browser.newContext();
  const page: Page = await context.newPage();
  page.on('console', (m) => {
    const text = m.text();
    if (text.startsWith('[bench] ')) progress(`page: ${text.slice(8)}`);
    else if (m.type() === 'error' || m.type() === 'warning') progress(`page ${m.type()}: ${text.slice(0, 300)}`);
  });
  page.on('pageerror', (e) => progress(`page error: ${e.message}`));
  let timer: NodeJS.Timeout | undefined;
  try {
    await page.goto(url, { waitUntil: 'load', timeout: 120_000 });
    await page.waitForFunction(() => 'bench' in window, undefined, { timeout: 120_000 });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${TASK_TIMEOUT_MS / 60_000} minutes`)), TASK_TIMEOUT_MS);
    });
    return (await Promise.race([page.evaluate((t) => window.bench.run(t as never), task), timeout])) as PageResults[K];
  } finally {
    clearTimeout(timer);
    await context.close();
  }
}

/** The first launch (in --adapter order) whose pages see an adapter of the kind its flags ask for, or the last one tried. */
async function launchWithAdapter(choice: 'auto' | 'hardware' | 'software', url: string) {
  let last: { launched: Launched; info: PageResults['info'] } | undefined;
  for (const kind of launchOrder(choice)) {
    if (last) await last.launched.browser.close();
    const launched = await launch(kind);
    const info = await inFreshPage(launched.browser, url, { kind: 'info' });
    last = { launched, info };
    // Chromium may fall back to SwiftShader under the hardware flags; auto then relaunches with
    // the software flags, so a software run always uses the documented software configuration.
    if (info.adapter && (kind === 'hardware') !== info.adapter.software) break;
    progress(`${kind} flags: ${info.adapter ? `got ${adapterLabel(info.adapter)}` : 'no WebGPU adapter'}`);
  }
  return last!;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), ENGINE_NAMES, BROWSER_SECTIONS, 'browser');
  if (options === 'help') return void process.stdout.write(USAGE);
  const { plan, sections } = options;
  const started = performance.now();
  const loadBefore = loadAverage();
  const data = options.mnist ? 'mnist' : 'synthetic';
  const server = await startBenchServer();
  let browser: Browser | undefined;
  try {
    const { launched, info } = await launchWithAdapter(options.adapter, server.url);
    browser = launched.browser;
    progress(`chromium ${browser.version()} (${launched.kind} flags), adapter: ${info.adapter ? adapterLabel(info.adapter) : 'none'}`);
    const counts = plan.quick ? { train: 2_000, test: 1_000 } : { train: 60_000, test: 10_000 };
    const result: BenchResult = {
      schema: SCHEMA,
      where: 'browser',
      date: new Date().toISOString(),
      quick: plan.quick,
      adapter: info.adapter ? { ...info.adapter, label: adapterLabel(info.adapter) } : null,
      environment: {
        ...machine(),
        chromium: browser.version(),
        chromium_flags: launched.flags,
        user_agent: info.userAgent,
        hardware_concurrency: info.hardwareConcurrency,
        cross_origin_isolated: info.crossOriginIsolated,
        load_before: loadBefore,
      },
      settings: settingsOf(plan, { source: data, trainCount: data === 'mnist' ? 60_000 : counts.train, testCount: data === 'mnist' ? 10_000 : counts.test }),
      engines: {},
      engine_errors: {},
      notes: [],
      runtime_s: 0,
    };

    if (sections.includes('steps')) {
      const engines: Record<string, EngineEntry> = {};
      for (const engine of options.engines) {
        progress(`training ${engine} in a fresh page`);
        try {
          engines[engine] = engineEntry(await inFreshPage(browser, server.url, { kind: 'train', engine, plan, data }));
        } catch (e) {
          result.engine_errors[engine] = (e as Error).message.split('\n')[0]!;
          progress(`${engine} failed: ${result.engine_errors[engine]}`);
        }
      }
      result.engines = withRatios(engines);
    }
    // A section that fails (a crashed GPU process, say) is reported and the rest still run.
    const attempt = async (section: string, f: () => Promise<void>) => {
      if (!sections.includes(section as never)) return;
      if (!info.adapter) return void result.notes.push(`${section}: skipped, this browser offers no WebGPU adapter`);
      progress(`${section} in a fresh page`);
      try {
        await f();
      } catch (e) {
        result.notes.push(`${section}: failed: ${(e as Error).message.split('\n')[0]}`);
        progress(`${section} failed: ${(e as Error).message}`);
      }
    };
    await attempt('gpu-vs-cpu', async () => {
      result.gpu_vs_cpu = await inFreshPage(browser!, server.url, { kind: 'gpu-vs-cpu', plan, data });
    });
    await attempt('host', async () => {
      result.host_time = await inFreshPage(browser!, server.url, { kind: 'host', plan, data });
    });
    await attempt('kernels', async () => {
      result.kernels = await inFreshPage(browser!, server.url, { kind: 'kernels', plan });
      for (const k of result.kernels) if (k.skipped) result.notes.push(skipNote(k, !!info.adapter?.software));
    });
    await attempt('matmul-vs-tfjs', async () => {
      const m = await inFreshPage(browser!, server.url, { kind: 'matmul-vs-tfjs', plan });
      result.matmul_vs_tfjs = m;
      result.notes.push(...matmulVsTfjsNotes(m));
    });
    await attempt('overhead', async () => {
      result.overhead = await inFreshPage(browser!, server.url, { kind: 'overhead', plan });
    });
    await attempt('crossover', async () => {
      result.crossover = await inFreshPage(browser!, server.url, { kind: 'crossover', plan, data });
    });
    await attempt('conv', async () => {
      result.settings.conv = { ...plan.conv, seed: plan.seed };
      // One page for every engine, so they share its adapter and interleave round by round.
      result.conv = await inFreshPage(browser!, server.url, { kind: 'conv', plan, data });
      result.notes.push('conv: NumPy runs only in Node (npm run bench -- --only conv), so its aim is judged there');
    });
    result.environment.load_after = loadAverage();
    result.runtime_s = Number(((performance.now() - started) / 1000).toFixed(1));
    printResult(result, await writeResult(result, options.out, convOnlyTag(sections)), options.json);
  } finally {
    await browser?.close();
    await server.close();
  }
}

await runCli(USAGE, main);
