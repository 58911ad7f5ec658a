import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chromiumFlags, launchOrder } from '../bench/browser/launch.js';
import { BROWSER_SECTIONS, parseOptions, usage } from '../bench/cli/options.js';
import { QUICK_PEER_STEPS } from '../bench/cli/step-engines.js';
import { convBatchCount, convBench, isUnsupported, type ConvEngine, type ConvPlan } from '../bench/lib/conv-bench.js';
import { crossoverSvg } from '../bench/lib/crossover-svg.js';
import { batchSchedule, syntheticData } from '../bench/lib/data.js';
import { ENGINE_NAMES, type TrainingEngine } from '../bench/lib/engine.js';
import { oursCpu } from '../bench/lib/ours.js';
import { QUICK_PLAN, totalSteps } from '../bench/lib/plan.js';
import { runTraining } from '../bench/lib/train-bench.js';
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
  let stdout = '';

  it('runs every section and prints the result as the last line of stdout', () => {
    // 40–60 s, the peers' steps about 7 s of it; up to twice that while other work loads the machine.
    const r = bench(['--quick', '--json', '--no-mnist', '--out', out], 'bench/run-node.ts', 170_000);
    expect(r.status, r.stderr).toBe(0);
    stdout = r.stdout;
    const lines = r.stdout.trim().split('\n');
    result = JSON.parse(lines.at(-1)!) as BenchResult;
    expect(r.stdout).toContain('ms/step (sync each)');
    expect(result).toMatchObject({ schema: 'webgpu-backprop-bench/1', where: 'node', quick: true, engine_errors: {} });
    expect(result.adapter?.label).toMatch(/software|hardware/);
    expect(result.environment).toHaveProperty('load_before');
    expect(result.environment).toHaveProperty('load_after');
  }, 180_000);

  it('reports each engine, ours and the peers on the same adapter: ms/step, steps/s and test accuracy, for both sync modes', () => {
    expect(Object.keys(result.engines)).toEqual([...ENGINE_NAMES]);
    for (const [name, e] of Object.entries(result.engines)) {
      const peer = !name.startsWith('ours-');
      expect(e.ms_per_step).toBeGreaterThan(0);
      expect(e.steps_per_s).toBeCloseTo(1000 / e.ms_per_step, 0);
      expect(e.min_ms).toBeLessThanOrEqual(e.ms_per_step);
      expect(e.max_ms).toBeGreaterThanOrEqual(e.ms_per_step);
      // A quick run's peers take a few steps fewer than ours.
      expect(e.steps, name).toBe(totalSteps(peer ? QUICK_PEER_STEPS : QUICK_PLAN.train));
      expect(e.sync_every_n.n).toBe(peer ? QUICK_PEER_STEPS.window : 4);
      expect(e.ratio_ours_gpu === undefined, name).toBe(!peer);
      expect(e.sync_every_n.ms_per_step).toBeGreaterThan(0);
      expect(e.test_accuracy).toBeGreaterThanOrEqual(0);
      expect(e.test_accuracy).toBeLessThanOrEqual(1);
      expect(Number.isFinite(e.last_loss)).toBe(true);
    }
    // The same net, weights and batches on both devices: the same predictions.
    expect(result.engines['ours-gpu']!.test_accuracy).toBeCloseTo(result.engines['ours-cpu']!.test_accuracy, 2);
    expect(result.engines['ours-gpu-fused']!.test_accuracy).toBeCloseTo(result.engines['ours-cpu']!.test_accuracy, 2);
    expect(result.engines['tfjs-webgpu']!.ratio_ours_gpu_fused).toBeDefined();
    expect(stdout).toMatch(/tfjs-webgpu .*×/);
  });

  it('trains the peers from our weights on our batches: after their steps, their loss and accuracy are ours', async () => {
    const data = syntheticData(QUICK_PLAN.seed, true);
    const spec = { hidden: QUICK_PLAN.hidden, lr: QUICK_PLAN.lr, seed: QUICK_PLAN.seed };
    // The bench's schedule is longer; its first batches are these.
    const batches = batchSchedule(QUICK_PLAN.seed, data.mnist.train.count, QUICK_PLAN.batch, totalSteps(QUICK_PEER_STEPS));
    const ours = await runTraining(oursCpu(data.mnist, spec), QUICK_PEER_STEPS, batches);
    for (const name of ['tfjs-webgpu', 'tfjs-wasm', 'tfjs-cpu', 'jax-webgpu']) {
      const e = result.engines[name]!;
      expect(Math.abs(e.last_loss - ours.lastLoss), `${name}: ${e.last_loss} against ${ours.lastLoss}`).toBeLessThan(2e-3);
      expect(e.test_accuracy, name).toBeCloseTo(ours.testAccuracy, 2);
    }
  });

  it.each(['gpu_vs_cpu', 'gpu_vs_cpu_fused'] as const)('%s: times the GPU device (layer by layer, or the fused step) against the CPU device interleaved, one paired ratio per round', (key) => {
    const p = result[key]!;
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

  it('reports the host time to record and submit a step, and its dispatches, per net and path', () => {
    const h = result.host_time!;
    expect(h, result.notes.join('; ')).toBeDefined();
    expect(h.entries.map((e) => [e.net, e.path, e.optimizer, e.tracing, e.perSubmit])).toEqual([
      ['two-layer', 'layers', 'SGD', false, 1],
      ['two-layer', 'layers', 'Adam', false, 1],
      ['two-layer', 'layers', 'SGD', true, 1],
      ['two-layer', 'fused', 'SGD', false, 1],
      ['two-layer', 'fused', 'Adam', false, 1],
      ['two-layer', 'fused', 'SGD', false, 10],
      ['two-layer', 'fused', 'Adam', false, 10],
      ['simple-conv', 'layers', 'Adam', false, 1],
    ]);
    for (const e of h.entries) {
      expect(e.skipped, e.name).toBeUndefined();
      const us = e.us!;
      expect(us.n).toBe(e.net === 'two-layer' ? h.plan.mlpSteps : h.plan.convSteps);
      expect(us.min).toBeGreaterThan(0);
      expect(us.p10).toBeGreaterThanOrEqual(us.min);
      expect(us.median).toBeGreaterThanOrEqual(us.p10);
      expect(us.p90).toBeGreaterThanOrEqual(us.median);
      expect(us.max).toBeGreaterThanOrEqual(us.p90);
      // One submit per perSubmit steps, a whole number of dispatches a step.
      expect(e.submitsPerStep, e.name).toBe(1 / e.perSubmit);
      expect(Number.isInteger(e.dispatchesPerStep) && e.dispatchesPerStep! > 0, e.name).toBe(true);
      // Kept to 3 significant digits: 327.5 is written 328.
      expect(Math.abs(e.usPerDispatch! / (us.median / e.dispatchesPerStep!) - 1), e.name).toBeLessThan(0.005);
    }
    const [sgd, adam, traced, fusedSgd, fusedAdam, fusedSgd10, fusedAdam10] = h.entries;
    // The context's count is the dispatches the trace lists when it is on.
    expect(traced!.tracedDispatches).toBe(traced!.dispatchesPerStep);
    expect(sgd!.dispatchesPerStep).toBe(traced!.dispatchesPerStep);
    expect(adam!.dispatchesPerStep).toBe(sgd!.dispatchesPerStep);
    // The fused path: at most six dispatches a step (#16), fewer than layer by layer.
    for (const f of [fusedSgd!, fusedAdam!, fusedSgd10!, fusedAdam10!]) {
      expect(f.dispatchesPerStep).toBeLessThanOrEqual(6);
      expect(f.dispatchesPerStep).toBeLessThan(sgd!.dispatchesPerStep!);
    }
    expect(h.entries[7]!.batch).toBe(h.plan.convBatch);
    expect(stdout).toContain('host time (record + submit)');
    expect(stdout).toContain('GPU device (fused step) vs CPU device, interleaved');
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

  it('runs the long run through the Trainer, layer by layer, fused, and fused 10 steps a submit: every step trained and read back, then one evaluation', () => {
    const long = result.long_run!;
    if ('skipped' in long) throw new Error(`long run skipped in a quick run: ${long.skipped}`);
    expect(long.runs.map((r) => [r.fused, r.stepsPerSubmit])).toEqual([[false, 1], [true, 1], [true, 10]]);
    for (const run of long.runs) {
      expect(run).toMatchObject({ steps: 20, batch: 100, readEvery: 100 });
      expect(run.trainWallMs).toBeGreaterThan(0);
      expect(run.msPerStep).toBeCloseTo(run.trainWallMs / run.steps, 6);
      expect(run.evalWallMs).toBeGreaterThan(0);
      expect(Number.isFinite(run.lastLoss) && run.lastLoss > 0).toBe(true);
      expect(run.testAccuracy).toBeGreaterThan(0);
    }
    // The same weights and batches: the paths' losses agree to float32 rounding.
    expect(long.runs[1]!.lastLoss).toBeCloseTo(long.runs[0]!.lastLoss, 4);
    expect(long.runs[2]!.lastLoss).toBe(long.runs[1]!.lastLoss);
  });

  it('measures overhead and the CPU-vs-GPU crossover, and writes JSON and SVG files', () => {
    expect(result.overhead!.readScalarMs.median).toBeGreaterThan(0);
    expect(result.overhead!.dispatchUs.median).toBeGreaterThan(0);
    // The seed net's two cells and SimpleConvNet's one (the conv axis).
    expect(result.crossover!.cells.map((c) => [c.batch, c.net ?? 'mlp'])).toEqual([[1, 'mlp'], [100, 'mlp'], [2, 'simple-conv']]);
    for (const c of result.crossover!.cells) {
      expect(['cpu', 'gpu']).toContain(c.winner);
      expect(typeof c.clear).toBe('boolean');
      // A device predicted over the step cap is skipped (and loses the cell) rather than timed.
      for (const t of [c.gpu, c.cpu]) expect(t.skipped ?? t.ms.median > 0).toBeTruthy();
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

  it('draws the conv axis as its own line and grid row, at its own batch sizes', () => {
    const timing = (ms: number) => ({ ms: { median: ms, min: ms, max: ms, n: 1 }, stepsPerWindow: 1 });
    const svg = crossoverSvg({
      batches: [1, 100],
      hiddens: [50],
      convBatches: [10],
      cellBudgetMs: 0,
      maxStepMs: 0,
      note: '',
      cells: [
        { batch: 1, hidden: 50, cpu: timing(1), gpu: timing(2), winner: 'cpu', factor: 2, clear: true },
        { batch: 100, hidden: 50, cpu: timing(5), gpu: timing(4), winner: 'gpu', factor: 1.25, clear: true },
        { batch: 10, hidden: 100, net: 'simple-conv', cpu: timing(300), gpu: timing(100), winner: 'gpu', factor: 3, clear: true },
      ],
    }, 'x');
    expect(svg).toContain('SimpleConvNet (Adam)');
    expect(svg).toContain('>conv</text>');
    expect(svg).toContain('>b 10</text>');
    expect(svg.match(/<polyline/g)).toHaveLength(4);
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

describe('npm run bench:browser -- --quick --only gpu-vs-cpu,host', () => {
  it('trains our two devices side by side in one page and reports their paired ratio, and the host time of a step in a page', () => {
    const dir = join(out, 'browser-paired');
    const r = bench(['--quick', '--json', '--no-mnist', '--adapter', 'software', '--only', 'gpu-vs-cpu,host', '--out', dir], 'bench/run-browser.ts', 140_000);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as BenchResult;
    const p = result.gpu_vs_cpu!;
    expect(p, result.notes.join('; ')).toBeDefined();
    expect(p.everyWindow.ratio.n).toBe(2);
    expect(Math.abs(p.lastLoss.gpu - p.lastLoss.cpu)).toBeLessThan(1e-3);
    expect(r.stdout).toContain('GPU device (layer by layer) vs CPU device, interleaved');
    const h = result.host_time!;
    expect(h.entries).toHaveLength(8);
    for (const e of h.entries) {
      expect(e.skipped, e.name).toBeUndefined();
      expect(e.us!.median, e.name).toBeGreaterThan(0);
      expect(e.submitsPerStep, e.name).toBe(1 / e.perSubmit);
    }
    expect(h.entries[2]!.tracedDispatches).toBe(h.entries[0]!.dispatchesPerStep);
    expect(r.stdout).toContain('host time (record + submit)');
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

describe('conv bench: interleaved rounds, paired ratios, agreement and targets', () => {
  let clockMs = 0;
  const clock = () => clockMs;
  /** An engine whose steps take `ms` each on the fake clock and whose loss after step i is `loss(i)`. */
  const fake = (name: string, ms: number, loss: (step: number) => number, log: string[], fail?: string): ConvEngine => {
    let steps = 0;
    return {
      name,
      label: name,
      how: '',
      step() {
        if (fail) throw new Error(fail);
        log.push(name);
        steps += 1;
        clockMs += ms;
      },
      readLoss: async () => loss(steps),
      dispose() {},
    };
  };
  const falling = (step: number) => 2.3 - 0.01 * step;
  const plan: ConvPlan = { batch: 4, lr: 0.001, warmup: 1, steps: 4, slowSteps: 2, slow: ['tfjs-webgpu', 'jax-webgpu'], engines: [], peerWaits: 'spin' };
  const batches = Array.from({ length: convBatchCount(plan) }, (_, i) => Uint32Array.of(i));
  const source = (engine: ConvEngine) => ({ name: engine.name, open: async () => engine });

  it('rotates the order every round, stops the slow engines early, and pairs ratios by round', async () => {
    const log: string[] = [];
    const r = await convBench(
      [
        source(fake('ours-gpu', 10, falling, log)),
        source(fake('ours-cpu', 30, falling, log)),
        source(fake('tfjs-webgpu', 400, (s) => falling(s) + 1e-4, log)),
        source(fake('jax-webgpu', 25, falling, log)),
        source(fake('numpy', 10, falling, log)),
      ],
      batches, plan, { batch: 4, lr: 0.001, seed: 1 }, () => {}, { clock },
    );
    // Warm-up in order, then round 1 in order, round 2 shifted by one, then the slow ones are done.
    expect(log.slice(5, 15).join(' ')).toBe('ours-gpu ours-cpu tfjs-webgpu jax-webgpu numpy ours-cpu tfjs-webgpu jax-webgpu numpy ours-gpu');
    expect(log.slice(15).join(' ')).toBe('numpy ours-gpu ours-cpu ours-gpu ours-cpu numpy');
    expect(r.rounds).toBe(4);
    const gpu = (other: string) => r.ratios.find((x) => x.ours === 'ours-gpu' && x.other === other)!.ratio;
    expect([gpu('ours-cpu').median, gpu('ours-cpu').n]).toEqual([3, 4]);
    expect([gpu('tfjs-webgpu').median, gpu('tfjs-webgpu').n]).toEqual([40, 2]);
    expect(r.ratios.find((x) => x.ours === 'ours-cpu' && x.other === 'jax-webgpu')!.ratio.median).toBeCloseTo(25 / 30, 3);
    expect(r.reference).toBe('ours-cpu');
    expect(r.engines.find((e) => e.name === 'tfjs-webgpu')!.agreement).toMatchObject({ reference: 'ours-cpu', steps: 3, ok: true });
    expect(r.targets.map((t) => [t.what.split(':')[0], t.ratio, t.pass])).toEqual([
      ['ours-gpu ≥ 1.5× ours-cpu', 3, true],
      ['ours-gpu ≥ 30× tfjs-webgpu', 40, true],
      ['ours-gpu ≥ 2× jax-webgpu', 2.5, true],
      ['ours-gpu ≥ 1× numpy (aim', 1, true],
    ]);
  });

  it('reports a library that lacks a kernel as unsupported, in its own words, and runs the rest', async () => {
    const missing = "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'";
    expect(isUnsupported(missing)).toBe(true);
    expect(isUnsupported('numpy not available (python3: ENOENT)')).toBe(false);
    const r = await convBench(
      [
        source(fake('ours-gpu', 10, falling, [])),
        source(fake('tfjs-wasm', 10, falling, [], missing)),
        { name: 'jax-webgpu', open: () => Promise.reject(new Error('device lost')) },
        { name: 'numpy', open: () => Promise.reject(new Error('numpy not available (python3: ENOENT)')) },
      ],
      batches, plan, { batch: 4, lr: 0.001, seed: 1 }, () => {}, { clock },
    );
    expect(r.engines.map((e) => [e.name, e.status, e.reason])).toEqual([
      ['ours-gpu', 'ok', undefined],
      ['tfjs-wasm', 'unsupported', missing],
      ['jax-webgpu', 'failed', 'device lost'],
      ['numpy', 'unavailable', 'numpy not available (python3: ENOENT)'],
    ]);
    expect(r.targets.find((t) => t.what.includes('jax-webgpu'))).toMatchObject({ pass: null, note: 'jax-webgpu failed: device lost' });
  });

  it('waits for every engine\'s loss through waitFor when given one (the peers\' gentle polling)', async () => {
    const waited: string[] = [];
    const r = await convBench(
      [source(fake('ours-gpu', 10, falling, [])), source(fake('tfjs-webgpu', 400, falling, [])), source(fake('numpy', 10, falling, []))],
      batches, plan, { batch: 4, lr: 0.001, seed: 1 }, () => {},
      { clock, waitFor: (name, loss) => { waited.push(name); return loss.then((v) => v); } },
    );
    // Every step of every engine, warm-up included, and the losses still arrive.
    expect(waited.filter((n) => n === 'ours-gpu')).toHaveLength(plan.warmup + plan.steps);
    expect(waited.filter((n) => n === 'tfjs-webgpu')).toHaveLength(plan.warmup + plan.slowSteps);
    expect(waited.filter((n) => n === 'numpy')).toHaveLength(plan.warmup + plan.steps);
    expect(r.engines[1]!.losses).toHaveLength(plan.warmup + plan.slowSteps);
  });

  it('takes --peer-waits spin|gentle, spin by default, and names the flag when the value is wrong', () => {
    const parsed = (argv: string[]) => {
      const o = parseOptions(argv, ENGINE_NAMES);
      if (o === 'help') throw new Error('help');
      return o.plan.conv.peerWaits;
    };
    expect(parsed([])).toBe('spin');
    expect(parsed(['--peer-waits', 'gentle'])).toBe('gentle');
    expect(() => parsed(['--peer-waits', 'fast'])).toThrow("--peer-waits must be one of spin, gentle, got 'fast'");
  });

  it('judges no target on an engine that trained apart from the reference', async () => {
    const r = await convBench(
      [source(fake('ours-gpu', 10, falling, [])), source(fake('ours-cpu', 30, (s) => falling(s) + 0.05 * s, []))],
      batches, plan, { batch: 4, lr: 0.001, seed: 1 }, () => {}, { clock },
    );
    expect(r.reference).toBe('ours-cpu');
    expect(r.engines[0]!.agreement).toMatchObject({ ok: false, steps: 5 });
    expect(r.targets[0]).toMatchObject({ ratio: 3, pass: null, note: 'ours-gpu trained apart from ours-cpu' });
  });
});

describe('npm run bench -- --quick --only conv', () => {
  it('trains SimpleConvNet on ours, TF.js, jax-js and NumPy in one process, interleaved, and the losses agree', () => {
    const dir = join(out, 'conv');
    // Batch 10, one warm-up and one or two timed steps each; TF.js webgpu compiles for ~10 s.
    const r = bench(['--quick', '--json', '--no-mnist', '--only', 'conv', '--out', dir], 'bench/run-node.ts', 170_000);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as BenchResult;
    const c = result.conv!;
    expect(c, result.notes.join('; ')).toBeDefined();
    const engine = (name: string) => c.engines.find((e) => e.name === name)!;
    expect(c.engines.map((e) => e.name)).toEqual(['ours-gpu', 'ours-cpu', 'tfjs-webgpu', 'tfjs-wasm', 'tfjs-cpu', 'jax-webgpu', 'numpy']);
    const numpy = engine('numpy');
    const running = ['ours-gpu', 'ours-cpu', 'tfjs-webgpu', 'tfjs-cpu', 'jax-webgpu', ...(numpy.status === 'ok' ? ['numpy'] : [])];
    if (numpy.status !== 'ok') expect(numpy).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/^numpy not available/) });
    for (const name of running) {
      const e = engine(name);
      expect(e.status, `${name}: ${e.reason}`).toBe('ok');
      expect(e.ms!.median).toBeGreaterThan(0);
      // Warm-up and timed steps: 1 + 2 for ours and NumPy, 1 + 1 for the peers.
      expect(e.losses).toHaveLength(name.startsWith('ours') || name === 'numpy' ? 3 : 2);
      if (name !== c.reference) expect(e.agreement, name).toMatchObject({ reference: 'ours-cpu', ok: true });
    }
    expect(engine('tfjs-wasm')).toMatchObject({ status: 'unsupported', reason: expect.stringContaining('Conv2DBackpropFilter') });
    expect(c.targets).toHaveLength(4);
    for (const t of c.targets.filter((x) => running.includes(x.what.split(' ')[3]!))) expect(typeof t.pass).toBe('boolean');
    expect(r.stdout).toMatch(/target (PASS|FAIL): ours-gpu ≥ 30× tfjs-webgpu/);
    expect(readdirSync(dir)).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\d-node-conv-quick\.json$/)]);
  }, 180_000);
});

describe('browser bench options: the conv section', () => {
  const browser = (argv: string[]) => {
    const o = parseOptions(argv, ENGINE_NAMES, BROWSER_SECTIONS, 'browser');
    if (o === 'help') throw new Error('help');
    return o;
  };

  it('runs conv only when asked for, and then every engine a page can run: all but NumPy', () => {
    expect(browser([]).sections).not.toContain('conv');
    expect(browser(['--only', 'conv']).sections).toEqual(['conv']);
    expect(browser([]).plan.conv.engines).toEqual(['ours-gpu', 'ours-cpu', 'tfjs-webgpu', 'tfjs-wasm', 'tfjs-cpu', 'jax-webgpu']);
    // Node keeps NumPy.
    const node = parseOptions([], ENGINE_NAMES);
    expect(node !== 'help' && node.plan.conv.engines).toContain('numpy');
  });

  it('takes --conv-engines, --conv-steps and --conv-peer-steps as Node does', () => {
    const o = browser(['--only', 'conv', '--conv-engines', 'ours-gpu,tfjs-webgpu', '--conv-steps', '5', '--conv-peer-steps', '2']);
    expect(o.plan.conv).toMatchObject({ engines: ['ours-gpu', 'tfjs-webgpu'], steps: 5, slowSteps: 2 });
  });

  it('refuses NumPy and --peer-waits, naming the flag and saying they are Node\'s', () => {
    expect(() => browser(['--conv-engines', 'ours-gpu,numpy'])).toThrow(/^--conv-engines numpy: .*only in `npm run bench -- --only conv`, not in a page$/);
    expect(() => browser(['--peer-waits', 'gentle'])).toThrow(/^--peer-waits is for `npm run bench` only: /);
    expect(() => browser(['--conv-engines', 'pytorch'])).toThrow("--conv-engines must be one of ours-gpu, ours-cpu, tfjs-webgpu, tfjs-wasm, tfjs-cpu, jax-webgpu, got 'pytorch'");
  });

  it('lets the page collect garbage between the conv engines\' steps, as Node does', () => {
    for (const kind of ['hardware', 'software'] as const) expect(chromiumFlags(kind)).toContain('--js-flags=--expose-gc');
  });

  it('lists the conv flags a page takes in its usage text', () => {
    const text = usage('npm run bench:browser', ENGINE_NAMES, BROWSER_SECTIONS, 'browser');
    expect(text).toContain('--conv-engines ours-gpu,ours-cpu,tfjs-webgpu,tfjs-wasm,tfjs-cpu,jax-webgpu\n');
    expect(text).toContain('(default all but conv)');
    expect(text).not.toContain('--peer-waits');
    expect(usage('npm run bench', ENGINE_NAMES)).toContain('--peer-waits');
  });

  it('exits 2 with the reason when the browser bench is asked for NumPy', () => {
    const r = bench(['--only', 'conv', '--conv-engines', 'numpy'], 'bench/run-browser.ts', 60_000);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error: --conv-engines numpy: the book\'s NumPy code runs in python3 beside Node');
  });
});

describe('npm run bench:browser -- --quick --only conv', () => {
  it('trains SimpleConvNet on ours, TF.js and jax-js in one page, interleaved, and the losses agree', () => {
    const dir = join(out, 'browser-conv');
    // ~30 s: Chromium and Vite start in ~10 s, TF.js webgpu compiles its warm-up step for ~8 s at batch 10.
    const r = bench(['--quick', '--json', '--no-mnist', '--adapter', 'software', '--only', 'conv', '--out', dir], 'bench/run-browser.ts', 140_000);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as BenchResult;
    const c = result.conv!;
    expect(c, result.notes.join('; ')).toBeDefined();
    const engine = (name: string) => c.engines.find((e) => e.name === name)!;
    // NumPy cannot run in a page: not asked for, so not reported at all (not as a failure).
    expect(c.engines.map((e) => e.name)).toEqual(['ours-gpu', 'ours-cpu', 'tfjs-webgpu', 'tfjs-wasm', 'tfjs-cpu', 'jax-webgpu']);
    expect(c.reference).toBe('ours-cpu');
    for (const name of ['ours-gpu', 'ours-cpu', 'tfjs-webgpu', 'tfjs-cpu', 'jax-webgpu']) {
      const e = engine(name);
      expect(e.status, `${name}: ${e.reason}`).toBe('ok');
      expect(e.ms!.median).toBeGreaterThan(0);
      // Warm-up and timed steps: 1 + 2 for ours, 1 + 1 for the peers.
      expect(e.losses).toHaveLength(name.startsWith('ours') ? 3 : 2);
      if (name !== c.reference) expect(e.agreement, name).toMatchObject({ reference: 'ours-cpu', ok: true });
    }
    expect(engine('tfjs-wasm')).toMatchObject({ status: 'unsupported', reason: expect.stringContaining('Conv2DBackpropFilter') });
    expect(result.settings.conv).toMatchObject({ engines: c.plan.engines, seed: QUICK_PLAN.seed });
    expect(r.stdout).toMatch(/target (PASS|FAIL): ours-gpu ≥ 1\.5× ours-cpu/);
    expect(r.stdout).toMatch(/target (PASS|FAIL): ours-gpu ≥ 30× tfjs-webgpu/);
    expect(r.stdout).toMatch(/target (PASS|FAIL): ours-gpu ≥ 2× jax-webgpu/);
    expect(r.stdout).toContain('aim NOT JUDGED: ours-gpu ≥ 1× numpy');
    expect(r.stdout).toContain('note: conv: NumPy runs only in Node');
    // Chromium runs with gc() exposed, so the garbage between steps is collected as in Node.
    expect(r.stderr).not.toContain('gc() is not exposed');
    expect(readdirSync(dir)).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\d-browser-conv-quick\.json$/)]);
  }, 150_000);
});
