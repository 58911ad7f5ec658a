import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chromiumFlags, launchOrder } from '../bench/browser/launch.js';
import { crossoverSvg } from '../bench/lib/crossover-svg.js';
import type { BenchResult } from '../bench/lib/result.js';

// The real benchmarks never run here: this runs the Node bench with --quick (a few steps of each
// section, synthetic data) and checks that what it produces is well formed.
const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function bench(args: string[]) {
  return spawnSync('node', ['--import', './tools/register.mjs', 'bench/run-node.ts', ...args], { encoding: 'utf8', timeout: 100_000 });
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

  it('checks every kernel against the CPU before timing it', () => {
    const families = new Set(result.kernels!.map((k) => k.family));
    expect([...families].sort()).toEqual(['matmul', 'reduce', 'softmax-xent']);
    for (const k of result.kernels!) {
      expect(k.check.ok, `${k.op} ${k.shape}`).toBe(true);
      if (!k.skipped) expect(k.ms!.median).toBeGreaterThan(0);
    }
    expect(result.kernels!.some((k) => k.gflops! > 0)).toBe(true);
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
    expect(r.stderr).toContain('--only must be one of steps, kernels, overhead, crossover');
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
