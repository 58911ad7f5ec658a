import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chromiumFlags, launchOrder } from '../bench/browser/launch.js';
import { BROWSER_SECTIONS, parseOptions } from '../bench/cli/options.js';
import { crossoverSvg } from '../bench/lib/crossover-svg.js';
import { ENGINE_NAMES, type TrainingEngine } from '../bench/lib/engine.js';
import { gpuVsCpu, gpuVsCpuBatches, pairedTiming } from '../bench/lib/gpu-vs-cpu.js';
import { withTfjsRatios, type MatmulEngineResult } from '../bench/lib/matmul-vs-tfjs.js';
import { matmulVsTfjsReport } from '../bench/lib/report.js';
import type { BenchResult } from '../bench/lib/result.js';

// The real benchmarks never run here: this runs the Node bench with --quick (a few steps of each
// section, synthetic data) and checks that what it produces is well formed.
const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function bench(args: string[], script = 'bench/run-node.ts', timeout = 100_000) {
  return spawnSync('node', ['--import', './tools/register.mjs', script, ...args], { encoding: 'utf8', timeout });
}

describe('npm run bench -- --quick', () => {
  let result: BenchResult;

  it('runs every section and prints the result as the last line of stdout', () => {
    const r = bench(['--quick', '--json', '--no-mnist', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    result = JSON.parse(lines.at(-1)!) as BenchResult;
    expect(r.stdout).toContain('ms/step (sync each)');
    expect(result).toMatchObject({ schema: 'webgpu-backprop-bench/1', where: 'node', quick: true, engine_errors: {} });
    expect(result.adapter?.label).toMatch(/software|hardware/);
    expect(result.environment).toHaveProperty('load_before');
    expect(result.environment).toHaveProperty('load_after');
  });

  it('reports each engine: ms/step, steps/s and test accuracy, for both sync modes', () => {
    expect(Object.keys(result.engines).sort()).toEqual(['ours-cpu', 'ours-gpu']);
    for (const e of Object.values(result.engines)) {
      expect(e.ms_per_step).toBeGreaterThan(0);
      expect(e.steps_per_s).toBeCloseTo(1000 / e.ms_per_step, 0);
      expect(e.min_ms).toBeLessThanOrEqual(e.ms_per_step);
      expect(e.max_ms).toBeGreaterThanOrEqual(e.ms_per_step);
      expect(e.sync_every_n.n).toBe(4);
      expect(e.sync_every_n.ms_per_step).toBeGreaterThan(0);
      expect(e.test_accuracy).toBeGreaterThanOrEqual(0);
      expect(e.test_accuracy).toBeLessThanOrEqual(1);
      expect(Number.isFinite(e.last_loss)).toBe(true);
    }
    // The same net, weights and batches on both devices: the same predictions.
    expect(result.engines['ours-gpu']!.test_accuracy).toBeCloseTo(result.engines['ours-cpu']!.test_accuracy, 2);
  });

  it('times the GPU device against the CPU device interleaved, one paired ratio per round', () => {
    const p = result.gpu_vs_cpu!;
    expect(p, result.notes.join('; ')).toBeDefined();
    expect(p.window).toBe(4);
    expect(p.everyWindow.ratio.n).toBe(2);
    expect(p.everyStep.ratio.n).toBe(2);
    for (const t of [p.everyWindow, p.everyStep]) {
      expect(t.gpu.median).toBeGreaterThan(0);
      expect(t.cpu.median).toBeGreaterThan(0);
      expect(t.ratio.min).toBeLessThanOrEqual(t.ratio.median);
      expect(t.ratio.max).toBeGreaterThanOrEqual(t.ratio.median);
    }
    // Same weights, same batches: the same training on both devices.
    expect(Math.abs(p.lastLoss.gpu - p.lastLoss.cpu)).toBeLessThan(1e-3);
  });

  it('checks every kernel against the CPU before timing it', () => {
    const families = new Set(result.kernels!.map((k) => k.family));
    expect([...families].sort()).toEqual(['matmul', 'reduce', 'softmax-xent']);
    for (const k of result.kernels!) {
      expect(k.check.ok, `${k.op} ${k.shape}`).toBe(true);
      if (!k.skipped) expect(k.ms!.median).toBeGreaterThan(0);
    }
    expect(result.kernels!.some((k) => k.gflops! > 0)).toBe(true);
  });

  it('runs the long run through the Trainer: every step trained and read back, then one evaluation', () => {
    const long = result.long_run!;
    if ('skipped' in long) throw new Error(`long run skipped in a quick run: ${long.skipped}`);
    expect(long).toMatchObject({ steps: 20, batch: 100, readEvery: 100 });
    expect(long.trainWallMs).toBeGreaterThan(0);
    expect(long.msPerStep).toBeCloseTo(long.trainWallMs / long.steps, 6);
    expect(long.evalWallMs).toBeGreaterThan(0);
    expect(Number.isFinite(long.lastLoss) && long.lastLoss > 0).toBe(true);
    expect(long.testAccuracy).toBeGreaterThan(0);
  });

  it('measures overhead and the CPU-vs-GPU crossover, and writes JSON and SVG files', () => {
    expect(result.overhead!.readScalarMs.median).toBeGreaterThan(0);
    expect(result.overhead!.dispatchUs.median).toBeGreaterThan(0);
    expect(result.crossover!.cells).toHaveLength(2);
    for (const c of result.crossover!.cells) {
      expect(['cpu', 'gpu']).toContain(c.winner);
      expect(typeof c.clear).toBe('boolean');
    }
    const files = readdirSync(out).sort();
    expect(files).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\d-node-quick-crossover\.svg$/), expect.stringMatching(/^\d{4}-\d\d-\d\d-node-quick\.json$/)]);
    expect(JSON.parse(readFileSync(join(out, files[1]!), 'utf8'))).toMatchObject({ schema: result.schema, date: result.date });
    expect(readFileSync(join(out, files[0]!), 'utf8')).toMatch(/^<svg[^]*<\/svg>$/);
  });

  it('names a bad flag and exits 2', () => {
    const r = bench(['--only', 'everything']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--only must be one of steps, gpu-vs-cpu, kernels, overhead, crossover');
  });
});

describe('gpu vs cpu: paired rounds', () => {
  it('takes each round\'s own ratio, CPU ms over GPU ms, not the ratio of the medians', () => {
    const t = pairedTiming([5, 10, 4], [4, 5, 8]);
    expect(t.ratio.n).toBe(3);
    expect([t.ratio.min, t.ratio.median, t.ratio.max]).toEqual([0.5, 0.8, 2]);
    expect(t.gpu.median).toBe(5);
    expect(t.cpu.median).toBe(5);
    expect(() => pairedTiming([1, 2], [1])).toThrow('2 GPU samples against 1 CPU samples');
  });

  /** An engine whose steps take `ms` each on a fake clock, and whose loss is fixed. */
  let clockMs = 0;
  const clock = () => clockMs;
  const fake = (name: string, ms: number, loss: number, log: string[]): TrainingEngine => ({
    name,
    label: name,
    how: '',
    step() {
      log.push(name);
      clockMs += ms;
    },
    readLoss: async () => loss,
    testAccuracy: async () => 0,
    dispose() {},
  });
  const plan = { warmup: 1, rounds: 4, window: 2, stepRounds: 2 };
  const batches = Array.from({ length: gpuVsCpuBatches(plan) }, (_, i) => Uint32Array.of(i));

  it('alternates which device goes first, gives each the same batches, and finds the faster one', async () => {
    const log: string[] = [];
    const r = await gpuVsCpu(fake('gpu', 1, 0.5, log), fake('cpu', 3, 0.5, log), batches, plan, () => {}, clock);
    // Warm-up, then rounds of a window each: gpu first, then cpu first, and so on.
    expect(log.slice(2, 2 + 4 * 4).join(' ')).toBe('gpu gpu cpu cpu cpu cpu gpu gpu gpu gpu cpu cpu cpu cpu gpu gpu');
    expect(log.filter((n) => n === 'gpu')).toHaveLength(gpuVsCpuBatches(plan));
    // Every round's CPU window took 3 ms a step against the GPU's 1.
    expect(r.everyWindow.ratio.median).toBe(3);
    expect(r.everyStep.ratio.n).toBe(2);
  });

  it('refuses to time two devices that trained apart', async () => {
    await expect(gpuVsCpu(fake('gpu', 0, 0.5, []), fake('cpu', 0, 0.9, []), batches, plan)).rejects.toThrow('the devices trained apart');
  });
});

describe('browser bench launch', () => {
  it('asks Chromium for SwiftShader only on a software run', () => {
    expect(chromiumFlags('software')).toEqual(expect.arrayContaining(['--use-webgpu-adapter=swiftshader', '--enable-unsafe-webgpu', '--no-sandbox']));
    expect(chromiumFlags('hardware').join(' ')).not.toContain('swiftshader');
    expect(launchOrder('auto')).toEqual(['hardware', 'software']);
    expect(launchOrder('software')).toEqual(['software']);
  });

  it('draws an empty crossover without failing', () => {
    expect(crossoverSvg({ batches: [], hiddens: [], cellBudgetMs: 0, maxStepMs: 0, cells: [], note: '' }, 'x')).toContain('no data');
  });
});

/** A timed entry whose median is `median` ms per n³ product. */
function timed(engine: string, n: number, median: number, extra: Partial<MatmulEngineResult> = {}): MatmulEngineResult {
  return { engine, ms: { median, min: median, max: median, n: 3 }, iterations: 1, gflops: (2 * n ** 3) / median / 1e6, ...extra };
}

describe('matmul vs TF.js: ratios and report', () => {
  it('divides TF.js\'s ms by ours for each variant, headlines the default and names the fastest', () => {
    const size = withTfjsRatios(1024, [
      timed('tfjs-webgpu', 1024, 6000),
      timed('ours-unrolled', 1024, 500, { variant: 'unrolled', isDefault: true }),
      timed('ours-blocked', 1024, 7500, { variant: 'blocked', isDefault: false }),
      timed('ours-tiled', 1024, 400, { variant: 'tiled', isDefault: false }),
    ]);
    expect(size.engines.map((e) => e.ratioVsTfjs)).toEqual([undefined, 12, 0.8, 15]);
    expect(size.ratio).toBe(12);
    expect(size.best).toEqual({ engine: 'ours-tiled', ratio: 15 });
    const report = matmulVsTfjsReport({
      tfjs: { label: 'TensorFlow.js 4.22.0, webgpu backend', adapter: 'google / swiftshader' },
      ours: { label: 'ours, unrolled variant', adapter: 'google / swiftshader' },
      defaultVariant: 'unrolled',
      plan: { sizes: [1024], reps: 3, sampleMs: 500, budgetMs: 1, variantBudgetMs: 1 },
      how: '',
      sizes: [size],
    });
    expect(report).toContain('1024³: ours-unrolled 4.29 GFLOP/s, tfjs-webgpu 0.36 GFLOP/s → ours ÷ TF.js 12.0× (fastest of ours: ours-tiled, 15.0×)');
  });

  it('gives no ratio when TF.js or our default variant was not timed', () => {
    const noTfjs = withTfjsRatios(512, [{ engine: 'tfjs-webgpu', skipped: 'failed: no adapter' }, timed('ours-unrolled', 512, 50, { isDefault: true })]);
    expect(noTfjs.ratio).toBeNull();
    expect(noTfjs.best).toBeNull();
    expect(noTfjs.engines[1]!.ratioVsTfjs).toBeUndefined();
    const noDefault = withTfjsRatios(512, [timed('tfjs-webgpu', 512, 100), { engine: 'ours-unrolled', isDefault: true, skipped: 'wrong result: not timed' }]);
    expect(noDefault.ratio).toBeNull();
  });

  it('is one of the browser bench\'s default sections', () => {
    const options = parseOptions([], ENGINE_NAMES, BROWSER_SECTIONS);
    expect(options !== 'help' && options.sections).toContain('matmul-vs-tfjs');
  });
});

describe('npm run bench:browser -- --quick --only gpu-vs-cpu', () => {
  it('trains our two devices side by side in one page and reports their paired ratio', () => {
    const dir = join(out, 'browser-paired');
    const r = bench(['--quick', '--json', '--no-mnist', '--adapter', 'software', '--only', 'gpu-vs-cpu', '--out', dir], 'bench/run-browser.ts', 140_000);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as BenchResult;
    const p = result.gpu_vs_cpu!;
    expect(p, result.notes.join('; ')).toBeDefined();
    expect(p.everyWindow.ratio.n).toBe(2);
    expect(Math.abs(p.lastLoss.gpu - p.lastLoss.cpu)).toBeLessThan(1e-3);
    expect(r.stdout).toContain('GPU device vs CPU device, interleaved');
  }, 150_000);
});

describe('npm run bench:browser -- --quick --only matmul-vs-tfjs', () => {
  it('checks TF.js webgpu against ours, times both at 256³ and reports our GFLOP/s ÷ theirs', () => {
    const dir = join(out, 'browser');
    // Chromium, Vite and TF.js start in ~10–30 s; the products themselves take a few seconds.
    const r = bench(['--quick', '--json', '--adapter', 'software', '--only', 'matmul-vs-tfjs', '--out', dir], 'bench/run-browser.ts', 140_000);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as BenchResult;
    expect(r.stdout).toContain('matmul vs TensorFlow.js webgpu');
    const m = result.matmul_vs_tfjs!;
    expect(m, result.notes.join('; ')).toBeDefined();
    expect(m.tfjs).toHaveProperty('adapter', m.ours.adapter);
    expect(m.sizes.map((s) => s.n)).toEqual([256]);
    const [size] = m.sizes;
    const tfjs = size!.engines.find((e) => e.engine === 'tfjs-webgpu')!;
    const ours = size!.engines.find((e) => e.isDefault)!;
    for (const e of [tfjs, ours]) {
      expect(e.check!.ok, `${e.engine}: ${e.skipped}`).toBe(true);
      // GFLOP/s are kept to 3 significant digits: within half a unit of the third digit.
      expect(Math.abs(e.gflops! / ((2 * 256 ** 3) / e.ms!.median / 1e6) - 1)).toBeLessThan(0.005);
    }
    expect(tfjs.check!.against).toContain(ours.engine);
    // The ratio comes from the median times (3 significant digits); the GFLOP/s figures are rounded
    // too, so their quotient agrees only to about a percent (11.8 vs 11.75 has happened).
    expect(Math.abs(size!.ratio! / (tfjs.ms!.median / ours.ms!.median) - 1)).toBeLessThan(0.005);
    expect(Math.abs(size!.ratio! / (ours.gflops! / tfjs.gflops!) - 1)).toBeLessThan(0.02);
    expect(r.stdout).toContain(`ours ÷ TF.js ${size!.ratio!.toFixed(size!.ratio! < 10 ? 2 : 1)}×`);
  }, 150_000);
});
