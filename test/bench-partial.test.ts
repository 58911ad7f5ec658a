/**
 * A bench run cut short keeps what it measured: the result file is written after every section
 * (marked `incomplete` until the last), which is what a lent GPU machine's time limit leaves.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { BenchResult } from '../bench/lib/result.js';

const out = mkdtempSync(join(tmpdir(), 'bench-partial-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function resultFile(): BenchResult | undefined {
  const name = existsSync(out) ? readdirSync(out).find((f) => f.endsWith('.json')) : undefined;
  return name ? (JSON.parse(readFileSync(join(out, name), 'utf8')) as BenchResult) : undefined;
}

it('killed after its first section, the run leaves that section in its result file, marked incomplete', async () => {
  // steps (our CPU device alone: a few seconds), then the host section, which the kill cuts short.
  const child = spawn('node', ['--import', './tools/register.mjs', 'bench/run-node.ts', '--quick', '--no-mnist', '--only', 'steps,host', '--engines', 'ours-cpu', '--out', out], {
    stdio: 'ignore',
  });
  const exited = new Promise((done) => child.on('exit', done));
  let partial: BenchResult | undefined;
  for (let waited = 0; !partial && waited < 90_000; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
    partial = resultFile();
  }
  child.kill('SIGKILL');
  await exited;
  expect(partial, 'a result file after the steps section').toBeDefined();
  expect(partial!.incomplete).toBe('only steps of steps, host done');
  expect(Object.keys(partial!.engines)).toEqual(['ours-cpu']);
  expect(partial!.engines['ours-cpu']!.ms_per_step).toBeGreaterThan(0);
  expect(partial!.host_time).toBeUndefined();
}, 120_000);

it('a run that finishes drops the mark', async () => {
  rmSync(out, { recursive: true, force: true });
  const child = spawn('node', ['--import', './tools/register.mjs', 'bench/run-node.ts', '--quick', '--no-mnist', '--only', 'steps,overhead', '--engines', 'ours-cpu', '--out', out], { stdio: 'ignore' });
  const code = await new Promise((done) => child.on('exit', done));
  expect(code).toBe(0);
  const r = resultFile()!;
  expect(r.incomplete).toBeUndefined();
  expect(r.overhead).toBeDefined();
}, 120_000);
