import { describe, expect, it } from 'vitest';
import { MAX_PENDING, MIN_SLEEP_MS, TIMER_SLACK_MS, WAKE_AT, WaitPacer, type PacerClock } from '../src/gpu/wait-pacer.js';
import { matmulGpu } from '../src/kernels/matmul.js';
import { GpuTensor } from '../src/tensor/gpu-tensor.js';
import { useGpu } from './helpers/gpu.js';

/**
 * A simulated GPU behind a fake clock: submits run in order, each for its true duration, and a
 * wait returns when the work it covers is done (or at once, if it already is), plus a little
 * polling. Time only moves through sleeps and waits.
 */
class SimulatedGpu implements PacerClock {
  t = 0;
  /** When everything submitted so far is done. */
  busyUntil = 0;
  readonly pacer = new WaitPacer(true, this);

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    this.t += ms;
    return Promise.resolve();
  }

  submit(signature: number, ms: number, dispatches = 10): number {
    this.busyUntil = Math.max(this.busyUntil, this.t) + ms;
    return this.pacer.submitted(signature, dispatches);
  }

  /** Waits for everything submitted; returns how long the wait polled. */
  async wait(): Promise<number> {
    let polled = 0;
    await this.pacer.wait(this.pacer.latest, () => {
      const start = this.t;
      this.t = Math.max(this.t, this.busyUntil) + 0.05;
      polled = this.t - start;
      return Promise.resolve();
    });
    return polled;
  }

  /** JavaScript time between submits (recording the next step). */
  work(ms: number): void {
    this.t += ms;
  }
}

describe('WaitPacer', () => {
  it('does nothing when disabled: no sleeping, nothing tracked', async () => {
    const clock = new SimulatedGpu();
    const pacer = new WaitPacer(false, clock);
    pacer.submitted(1, 5);
    let ran = false;
    await pacer.wait(pacer.latest, async () => {
      ran = true;
    });
    expect(ran).toBe(true);
    expect(pacer.sleptMs).toBe(0);
    expect(pacer.duration(1)).toBeUndefined();
  });

  it('polls at once for work it has not seen, and learns its duration from that wait', async () => {
    const gpu = new SimulatedGpu();
    gpu.submit(7, 10);
    const polled = await gpu.wait();
    expect(gpu.pacer.sleptMs).toBe(0);
    expect(polled).toBeCloseTo(10.05, 6);
    expect(gpu.pacer.duration(7)).toBeCloseTo(10.05, 6);
  });

  it('sleeps only once two measurements agree, then through WAKE_AT of the predicted time', async () => {
    const gpu = new SimulatedGpu();
    gpu.submit(7, 10);
    await gpu.wait();
    expect(gpu.pacer.confirmed(7)).toBe(false);
    gpu.submit(7, 10);
    await gpu.wait();
    expect(gpu.pacer.sleptMs).toBe(0);
    expect(gpu.pacer.confirmed(7)).toBe(true);
    const learned = gpu.pacer.duration(7)!;
    const start = gpu.t;
    gpu.submit(7, 10);
    gpu.work(2);
    const polled = await gpu.wait();
    // Predicted done: start + learned; it was asked 2 ms later. A timer may fire late: the
    // sleep leaves room for that.
    expect(gpu.pacer.sleptMs).toBeCloseTo(WAKE_AT * (start + learned - (start + 2)) - TIMER_SLACK_MS, 6);
    expect(polled).toBeGreaterThan(0.5);
    expect(gpu.t).toBeCloseTo(start + 10.05, 6);
  });

  it('is not put to sleep for long by one slow first run (a pipeline compiled on first use)', async () => {
    const gpu = new SimulatedGpu();
    gpu.submit(4, 300);
    await gpu.wait();
    let late = 0;
    for (let window = 0; window < 10; window++) {
      for (let step = 0; step < 5; step++) gpu.submit(4, 1.2), gpu.work(0.3);
      await gpu.wait();
      late = Math.max(late, gpu.t - gpu.busyUntil);
    }
    // Every wait returned within its polling step of the work being done: no oversleep.
    expect(late).toBeLessThan(0.1);
    expect(gpu.pacer.duration(4)! / 1.2).toBeGreaterThan(0.9);
    expect(gpu.pacer.duration(4)! / 1.2).toBeLessThan(1.1);
    expect(gpu.pacer.sleptMs).toBeGreaterThan(0);
  });

  it('confirms a duration measured faster than thought at once, and a slower one only when it repeats', async () => {
    const gpu = new SimulatedGpu();
    gpu.submit(6, 10);
    await gpu.wait();
    gpu.submit(6, 20);
    await gpu.wait();
    expect(gpu.pacer.confirmed(6)).toBe(false);
    expect(gpu.pacer.duration(6)).toBeCloseTo(20.05, 6);
    gpu.submit(6, 20);
    await gpu.wait();
    expect(gpu.pacer.confirmed(6)).toBe(true);
    const fresh = new SimulatedGpu();
    fresh.submit(6, 20);
    await fresh.wait();
    fresh.submit(6, 5);
    await fresh.wait();
    expect(fresh.pacer.confirmed(6)).toBe(true);
    expect(fresh.pacer.duration(6)).toBeCloseTo(5.05, 6);
  });

  it('after an oversleep measures again before it sleeps again', async () => {
    const gpu = new SimulatedGpu();
    for (let i = 0; i < 2; i++) gpu.submit(2, 20), await gpu.wait();
    expect(gpu.pacer.confirmed(2)).toBe(true);
    // The work gets 4x faster: the next wait oversleeps once, then the one after it polls.
    gpu.submit(2, 5);
    await gpu.wait();
    expect(gpu.t - gpu.busyUntil).toBeGreaterThan(1);
    expect(gpu.pacer.confirmed(2)).toBe(false);
    const slept = gpu.pacer.sleptMs;
    gpu.submit(2, 5);
    await gpu.wait();
    expect(gpu.pacer.sleptMs).toBe(slept);
    expect(gpu.pacer.duration(2)).toBeCloseTo(5.05, 6);
  });

  it('shares a wait out among new signatures by dispatch count, and keeps known ones apart', async () => {
    const gpu = new SimulatedGpu();
    gpu.submit(1, 4, 4);
    gpu.submit(2, 8, 8);
    await gpu.wait();
    expect(gpu.pacer.duration(1)).toBeCloseTo(12.05 * (4 / 12), 6);
    expect(gpu.pacer.duration(2)).toBeCloseTo(12.05 * (8 / 12), 6);
    // A known signature next to a new one: the new one gets what the known one does not explain.
    gpu.submit(1, 4, 4);
    gpu.submit(5, 20, 4);
    await gpu.wait();
    expect(gpu.pacer.duration(5)).toBeCloseTo(24.05 - 12.05 * (4 / 12), 6);
  });

  it('keeps a bounded list of submits when nothing waits, and does not oversleep for having forgotten some', async () => {
    const gpu = new SimulatedGpu();
    for (let i = 0; i < 2; i++) gpu.submit(8, 1), await gpu.wait();
    for (let i = 0; i < 3 * MAX_PENDING; i++) gpu.submit(8, 1);
    expect((gpu.pacer as unknown as { pending: unknown[] }).pending.length).toBeLessThanOrEqual(MAX_PENDING);
    await gpu.wait();
    expect(gpu.t - gpu.busyUntil).toBeLessThan(0.1);
  });

  it('does not sleep for less than MIN_SLEEP_MS', async () => {
    const gpu = new SimulatedGpu();
    gpu.submit(9, 1);
    await gpu.wait();
    gpu.submit(9, 1);
    await gpu.wait();
    expect(1 * WAKE_AT - TIMER_SLACK_MS).toBeLessThan(MIN_SLEEP_MS);
    expect(gpu.pacer.sleptMs).toBe(0);
  });
});

describe('GpuContext waits on a software adapter', () => {
  const { ctx } = useGpu();

  it('are paced in Node on a software adapter only, and reads still return what the GPU wrote', async () => {
    const c = ctx();
    expect(c.pacer.enabled).toBe(c.adapter.software);
    const a = GpuTensor.from(c, Float32Array.from({ length: 4096 }, (_, i) => i), [64, 64]);
    const out = GpuTensor.empty(c, [64, 64]);
    let last: Float32Array | undefined;
    // The same submit over and over: its signature is learned after the first read.
    for (let i = 0; i < 6; i++) {
      for (let k = 0; k < 20; k++) matmulGpu(c, a, a, undefined, out, {}, 'unrolled');
      last = (await out.read()) as Float32Array;
    }
    // out[0][1] = Σ_k a[0][k]·a[k][1] = Σ k·(64k + 1)
    let want = 0;
    for (let k = 0; k < 64; k++) want += k * (64 * k + 1);
    expect(last![1]).toBe(want);
    if (c.pacer.enabled) expect(c.pacer.sleptMs).toBeGreaterThan(0);
    a.dispose();
    out.dispose();
  });
});
