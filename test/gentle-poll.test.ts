import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeRuntime, POLL_GAP_MS, pollGently, type PollRuntime } from '../src/gpu/gentle-poll.js';
import { matmulGpu } from '../src/kernels/matmul.js';
import { preparesFor } from '../src/nn/layer.js';
import { SimpleConvNet } from '../src/nn/conv-nets.js';
import { GpuTensor } from '../src/tensor/gpu-tensor.js';
import { useGpu } from './helpers/gpu.js';

/** Node's runtime, counting the turns and the time blocked. */
function counting(): PollRuntime & { turns: number; blockedMs: number } {
  const r = {
    turns: 0,
    blockedMs: 0,
    block(ms: number) {
      r.turns += 1;
      r.blockedMs += ms;
      nodeRuntime.block(ms);
    },
    later: nodeRuntime.later,
  };
  return r;
}

/** CPU seconds this thread (the one running the test's event loop) has used. */
function threadCpuSeconds(): number {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime, fields 14 and 15 of the stat line, in clock ticks (100 a second).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const later = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe('pollGently', () => {
  it('resolves as the promise does, sleeping one gap per turn until then, and stops after', async () => {
    const runtime = counting();
    const start = performance.now();
    await expect(pollGently(later(40, 'done'), POLL_GAP_MS, runtime)).resolves.toBe('done');
    const waited = performance.now() - start;
    const turns = runtime.turns;
    // It slept between turns (at least a few turns in 40 ms), never more than the wait allowed.
    expect(turns).toBeGreaterThan(3);
    expect(runtime.blockedMs).toBeLessThanOrEqual(waited + POLL_GAP_MS);
    // Once settled, the chain ends: no turn runs after it.
    await later(20, undefined);
    expect(runtime.turns).toBeLessThanOrEqual(turns + 1);
  });

  it('passes a rejection through and stops', async () => {
    const runtime = counting();
    const failing = later(10, undefined).then(() => {
      throw new Error('mapAsync failed');
    });
    await expect(pollGently(failing, POLL_GAP_MS, runtime)).rejects.toThrow('mapAsync failed');
    const turns = runtime.turns;
    await later(20, undefined);
    expect(runtime.turns).toBeLessThanOrEqual(turns + 1);
  });

  it('runs no turn at all for a promise already settled', async () => {
    const runtime = counting();
    await pollGently(Promise.resolve(1), POLL_GAP_MS, runtime);
    await later(5, undefined);
    expect(runtime.turns).toBeLessThanOrEqual(1);
  });
});

describe('GpuContext waits in Node', () => {
  const { ctx, gpu } = useGpu();

  it('poll gently on a software adapter only, and reads still return what the GPU wrote', async () => {
    const c = ctx();
    expect(c.gentleWaits).toBe(c.adapter.software);
    const a = GpuTensor.from(c, Float32Array.from({ length: 4096 }, (_, i) => i), [64, 64]);
    const out = GpuTensor.empty(c, [64, 64]);
    for (let k = 0; k < 20; k++) matmulGpu(c, a, a, undefined, out, {}, 'unrolled');
    const got = (await out.read()) as Float32Array;
    // out[0][1] = Σ_k a[0][k]·a[k][1] = Σ k·(64k + 1)
    let want = 0;
    for (let k = 0; k < 64; k++) want += k * (64 * k + 1);
    expect(got[1]).toBe(want);
    a.dispose();
    out.dispose();
  });

  it('do not spin: a long wait on a software adapter leaves its thread mostly idle', async () => {
    const c = ctx();
    if (!c.adapter.software) return; // hardware waits poll at full speed, for latency
    const n = 384;
    const a = GpuTensor.from(c, Float32Array.from({ length: n * n }, (_, i) => (i % 7) - 3), [n, n]);
    const out = GpuTensor.empty(c, [n, n]);
    matmulGpu(c, a, a, undefined, out, {}, 'unrolled');
    await c.finish(); // compiled and warm
    // Enough work for a wait of a few hundred ms, in which Dawn's setImmediate loop alone would
    // keep this thread busy the whole time.
    for (let k = 0; k < 8; k++) matmulGpu(c, a, a, undefined, out, {}, 'unrolled');
    const cpu0 = threadCpuSeconds();
    const t0 = performance.now();
    await c.finish();
    const wallSeconds = (performance.now() - t0) / 1000;
    const cpuSeconds = threadCpuSeconds() - cpu0;
    expect(wallSeconds).toBeGreaterThan(0.1);
    // Gentle polling measured 5-15% of the wall time here; spinning, 60–100%.
    expect(cpuSeconds).toBeLessThan(0.35 * wallSeconds);
    a.dispose();
    out.dispose();
  });

  it('do not spin while pipelines compile asynchronously either', async () => {
    const c = ctx();
    if (!c.adapter.software) return;
    // SimpleConvNet's kernels, none compiled yet on this device: seconds of SwiftShader's compiler.
    const net = new SimpleConvNet(gpu());
    const cpu0 = threadCpuSeconds();
    const t0 = performance.now();
    await gpu().prepare([], preparesFor(net.layers));
    const wallSeconds = (performance.now() - t0) / 1000;
    const cpuSeconds = threadCpuSeconds() - cpu0;
    expect(wallSeconds).toBeGreaterThan(0.1);
    // Gentle polling measured 9% of the wall time here; spinning, 46% (the compiler runs off this thread).
    expect(cpuSeconds).toBeLessThan(0.25 * wallSeconds);
    net.dispose();
  });
});
