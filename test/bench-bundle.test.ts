/**
 * The bench as a lent GPU machine runs it (bench/gpu/pack.sh, bench/gpu/run.sh): one esbuild
 * bundle with Dawn and the peers beside it, run from a folder with no node_modules above it
 * and no checkout, here on the software adapter with --quick. If the bundle misses a module, a
 * peer or a section, this fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '..');
// Under the system temp folder: no node_modules above it.
const work = mkdtempSync(join(tmpdir(), 'wgb-bundle-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('bench/bundle.mjs --with-dawn: the bundle runs on its own, every #16 section, the peers of both nets and the skip_validation A/B', () => {
  const dist = join(work, 'dist');
  execFileSync('node', ['bench/bundle.mjs', '--with-dawn', `${process.platform}-${process.arch}`, '--out', dist], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
  for (const f of ['bench-node.mjs', 'skip-validation.mjs', 'peers/tfjs-node.mjs', 'peers/numpy_convnet.py', 'node_modules/webgpu/package.json']) expect(existsSync(join(dist, f)), f).toBe(true);
  const out = join(work, 'out');
  const r = spawnSync(
    'node',
    // The seed net's cheap peers (TF.js webgpu's steps cost seconds; conv runs it from the bundle).
    [join(dist, 'bench-node.mjs'), '--quick', '--no-mnist', '--adapter', 'auto', '--only', 'steps,host,long-run,conv', '--engines', 'ours-cpu,tfjs-wasm,tfjs-cpu,jax-webgpu', '--conv-engines', 'ours-gpu,ours-cpu,tfjs-webgpu,jax-webgpu', '--json', '--out', out],
    { cwd: work, encoding: 'utf8', timeout: 240_000 },
  );
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  const result = JSON.parse(readFileSync(join(out, readdirSync(out).find((f) => f.endsWith('.json'))!), 'utf8'));
  expect(result.notes, 'no section failed').toEqual([]);
  expect(result.engine_errors).toEqual({});
  // The wasm backend's binaries beside the prebuilt TF.js, jax-js inside the bundle.
  expect(Object.keys(result.engines)).toEqual(['ours-cpu', 'tfjs-wasm', 'tfjs-cpu', 'jax-webgpu']);
  expect(result.host_time.entries.filter((e: { path: string }) => e.path === 'fused')).toHaveLength(4);
  expect(result.long_run.runs.map((x: { fused: boolean }) => x.fused)).toEqual([false, true, true]);
  // The peers ran from the bundle, not from a node_modules: TF.js prebuilt beside it, jax-js inside it.
  const status = Object.fromEntries(result.conv.engines.map((e: { name: string; status: string }) => [e.name, e.status]));
  expect(status).toEqual({ 'ours-gpu': 'ok', 'ours-cpu': 'ok', 'tfjs-webgpu': 'ok', 'jax-webgpu': 'ok' });

  // The skip_validation A/B as run.sh runs it: the bundle spawns itself once per arm.
  const ab = spawnSync('node', [join(dist, 'skip-validation.mjs'), '--quick', '--no-mnist', '--rounds', '1', '--out', join(out, 'skip-validation.json'), '--child-timeout', '60'], {
    cwd: work,
    encoding: 'utf8',
    timeout: 90_000,
  });
  expect(ab.status, `${ab.stdout}\n${ab.stderr}`).toBe(0);
  expect(JSON.parse(readFileSync(join(out, 'skip-validation.json'), 'utf8')).verified).toBe(true);
}, 500_000);
