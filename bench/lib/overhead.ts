import { GpuTensor, type GpuBackend } from 'webgpu-backprop';
import { storeScalarGpu } from 'webgpu-backprop/kernels';
import type { Plan } from './plan.js';
import { now, sig, summarize, type Summary } from './stats.js';

export interface OverheadResult {
  /** submit + onSubmittedWorkDone with nothing recorded: the floor of any sync. */
  emptySyncMs: Summary;
  /** CPU time to record one dispatch (bind group, pipeline, dispatch; no waiting). */
  recordUsPerDispatch: Summary;
  /** Recorded, submitted and finished, per dispatch of a one-workgroup kernel, amortized over a batch. */
  dispatchUs: Summary;
  dispatchesPerSample: number;
  /** Reading back one f32 (a step's loss): copy, submit, mapAsync. */
  readScalarMs: Summary;
  /** Reading back larger buffers, GB/s from the median. */
  readback: { bytes: number; ms: Summary; gbps: number }[];
  /** queue.writeBuffer of the same sizes, finished. */
  upload: { bytes: number; ms: Summary; gbps: number }[];
}

async function samples(reps: number, f: () => Promise<number>): Promise<Summary> {
  const out: number[] = [];
  await f(); // first use allocates staging buffers and pipelines
  for (let i = 0; i < reps; i++) out.push(await f());
  return summarize(out);
}

/** What the adapter charges for talking to it, whatever the kernel: the floor under a small step. */
export async function overheadBench(gpu: GpuBackend, plan: Plan): Promise<OverheadResult> {
  const ctx = gpu.ctx;
  const reps = plan.quick ? 3 : 30;
  const n = plan.quick ? 50 : 1000;
  const src = GpuTensor.from(ctx, [1], [1]);
  const dst = GpuTensor.empty(ctx, [n]);
  const record = () => {
    for (let i = 0; i < n; i++) storeScalarGpu(ctx, src, dst, i);
  };
  try {
    const emptySyncMs = await samples(reps, async () => {
      const t0 = now();
      await ctx.finish();
      return now() - t0;
    });
    const recordUs = await samples(Math.min(reps, 10), async () => {
      const t0 = now();
      record();
      const t = now() - t0;
      await ctx.finish();
      return (1000 * t) / n;
    });
    const dispatchUs = await samples(Math.min(reps, 10), async () => {
      const t0 = now();
      record();
      await ctx.finish();
      return (1000 * (now() - t0)) / n;
    });
    const readScalarMs = await samples(reps, async () => {
      const t0 = now();
      await src.read();
      return now() - t0;
    });
    const sizes = plan.quick ? [1 << 20] : [1 << 20, 1 << 24, 1 << 26];
    const readback = [];
    const upload = [];
    for (const bytes of sizes) {
      const big = GpuTensor.empty(ctx, [bytes / 4]);
      const host = new Float32Array(bytes / 4);
      const few = Math.min(reps, 5);
      const read = await samples(few, async () => {
        const t0 = now();
        await big.read();
        return now() - t0;
      });
      const write = await samples(few, async () => {
        const t0 = now();
        big.write(host);
        await ctx.finish();
        return now() - t0;
      });
      readback.push({ bytes, ms: read, gbps: sig(bytes / read.median / 1e6, 3) });
      upload.push({ bytes, ms: write, gbps: sig(bytes / write.median / 1e6, 3) });
      big.dispose();
      ctx.submit();
      ctx.pool.trim();
    }
    return { emptySyncMs, recordUsPerDispatch: recordUs, dispatchUs, dispatchesPerSample: n, readScalarMs, readback, upload };
  } finally {
    src.dispose();
    dst.dispose();
  }
}
