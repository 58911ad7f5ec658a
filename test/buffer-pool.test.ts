import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BufferPool } from '../src/gpu/buffer-pool.js';
import { storeScalarGpu } from '../src/kernels/reduce.js';
import { CHANGING_RUN, UniformCache } from '../src/gpu/uniforms.js';
import type { GpuTensor } from '../src/tensor/gpu-tensor.js';
import { expectClose, randomArray } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';

const { ctx, gpu } = useGpu();

beforeAll(() => {
  ctx().pool.poison = true;
});

// Each test starts from a pool holding only what other tests still hold (nothing, if they
// disposed everything), so counts do not depend on test order.
beforeEach(() => {
  ctx().submit();
  ctx().pool.trim();
});

/**
 * A small training-like step: activation, fused loss, backward, the bias gradient, a sum with
 * intermediate partials (10^4 values: passes of 10000, 157 and 3), an in-place update. It
 * disposes every output it creates and submits, as a training loop does, and returns the loss.
 * (No matmul, so this file does not depend on the matmul kernels.)
 */
async function step(x: GpuTensor, bias: GpuTensor, labels: GpuTensor): Promise<number> {
  const g = gpu();
  const { y, mask } = g.reluForward(x);
  const { probs, loss } = g.softmaxCrossEntropy(y, labels);
  const dy = g.softmaxCrossEntropyBackward(probs, labels);
  const dx = g.reluBackward(dy, mask);
  const db = g.sumColumns(dx);
  const total = g.sum(dx);
  // lr 0 leaves the bias as it was, so both steps compute the same loss.
  g.sgdUpdate(bias, db, 0);
  const value = (await g.read(loss))[0]!;
  g.dispose(y, mask, probs, loss, dy, dx, db, total);
  ctx().submit();
  return value;
}

describe('buffer pool', () => {
  it('a second identical step allocates nothing and returns bytesInUse to where it was', async () => {
    const g = gpu();
    const x = g.fromArray(randomArray(100 * 100, 1, 3), [100, 100]);
    const bias = g.fromArray(randomArray(100, 2), [100]);
    const labels = g.labels(Array.from({ length: 100 }, (_, i) => (i * 7) % 100), 100);
    const pool = ctx().pool;
    const before = pool.stats();

    const loss1 = await step(x, bias, labels);
    const afterFirst = pool.stats();
    expect(afterFirst.buffersAllocated).toBeGreaterThan(before.buffersAllocated);
    expect(afterFirst.bytesInUse).toBe(before.bytesInUse);
    expect(afterFirst.buffersInUse).toBe(before.buffersInUse);

    const loss2 = await step(x, bias, labels);
    const afterSecond = pool.stats();
    expect(afterSecond).toEqual(afterFirst);
    // The reused (and re-poisoned) buffers give the same result.
    expect(loss2).toBe(loss1);
    expect(Number.isFinite(loss1)).toBe(true);
    g.dispose(x, bias, labels);
  });

  it('does not hand out a released buffer again before a submit', () => {
    const pool = ctx().pool;
    const bytes = 12_345;
    const a = pool.acquire(bytes);
    pool.release(a);
    const b = pool.acquire(bytes);
    expect(b).not.toBe(a);
    expect(pool.stats().buffersAllocated).toBe(2);
    pool.release(b);
    ctx().submit();
    const c = pool.acquire(bytes);
    expect([a, b]).toContain(c);
    expect(pool.stats().buffersAllocated).toBe(2);
    pool.release(c);
  });

  it('keeps a buffer released inside a step intact until that step runs', async () => {
    // x is disposed right after its op is recorded; an upload into a reused x would run before
    // the op (queue.writeBuffer precedes the later submit) and change the result.
    const g = gpu();
    const values = randomArray(1000, 3);
    const x = g.fromArray(values, [1000]);
    const { y, mask } = g.reluForward(x);
    g.dispose(x);
    // Same size as x: the buffer a pool that reused too early would hand out.
    const other = g.fromArray(new Float32Array(1000).fill(-7), [1000]);
    expectClose(await g.read(y), values.map((v) => Math.max(v, 0)), 0, 'relu of the disposed input');
    g.dispose(y, mask, other);
  });

  it('rounds sizes up to 256 bytes and counts bytes by the rounded size', () => {
    expect(BufferPool.roundSize(0)).toBe(256);
    expect(BufferPool.roundSize(257)).toBe(512);
    const pool = ctx().pool;
    const start = pool.stats();
    const a = pool.acquire(1000);
    expect(pool.stats().bytesInUse - start.bytesInUse).toBe(1024);
    pool.release(a);
    expect(pool.stats().bytesInUse).toBe(start.bytesInUse);
  });

  it('refuses to release a buffer it does not own, or one released twice', () => {
    const pool = ctx().pool;
    const foreign = ctx().device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE });
    const stats = pool.stats();
    expect(() => pool.release(foreign)).toThrow('does not belong to this pool');
    expect(pool.stats()).toEqual(stats);
    foreign.destroy();

    const a = pool.acquire(300);
    pool.release(a);
    const afterOne = pool.stats();
    expect(() => pool.release(a)).toThrow('released twice');
    expect(pool.stats()).toEqual(afterOne);
    ctx().submit();
    // Released once, so handed out once: two acquires get two buffers.
    const b = pool.acquire(300);
    const c = pool.acquire(300);
    expect(b).not.toBe(c);
    pool.release(b);
    pool.release(c);
  });

  it('trim() frees every buffer nobody holds', async () => {
    const g = gpu();
    const pool = ctx().pool;
    const keep = g.fromArray([1, 2, 3], [3]);
    const base = pool.stats();
    const ts = [g.zeros([5000]), g.zeros([100, 7]), g.zeros([64])];
    g.dispose(...ts);
    ctx().submit();
    expect(pool.stats().buffersAllocated).toBe(base.buffersAllocated + 3);
    pool.trim();
    const after = pool.stats();
    expect(after.buffersAllocated).toBe(after.buffersInUse);
    expect(after.bytesAllocated).toBe(after.bytesInUse);
    expect(after).toEqual(base);
    // What is still held survives.
    expect(Array.from(await g.read(keep))).toEqual([1, 2, 3]);
    g.dispose(keep);
  });

  it('trim() before a submit keeps buffers the recorded work still uses', async () => {
    const g = gpu();
    // A sum over 10^4 values records two passes through a partials tensor it disposes at once.
    const values = randomArray(10_000, 9).map((v) => v + 1);
    const x = g.fromArray(values, [10_000]);
    const s = g.sum(x);
    ctx().pool.trim();
    const expected = values.reduce((a, b) => a + b, 0);
    expectClose(await g.read(s), [expected], 1e-3 * expected, 'sum after trim');
    g.dispose(x, s);
  });
});

describe('uniform cache', () => {
  it('keeps contents up to its limit, dropping the oldest, and frees the rest after a submit', async () => {
    const cache = new UniformCache(ctx().device, 4);
    const first = cache.get([1, 0, 0, 0]);
    for (let i = 2; i <= 5; i++) cache.get([i, 0, 0, 0]);
    expect(cache.size).toBe(4);
    // [1] was the oldest: asking again makes a new buffer.
    expect(cache.get([1, 0, 0, 0])).not.toBe(first);
    const five = cache.get([5, 0, 0, 0]);
    expect(cache.get([5, 0, 0, 0])).toBe(five);
    cache.retire();
    cache.destroy();
  });

  /** Records dst[index] = src[0] for each (src, index), in one submit. */
  function stores(pairs: [GpuTensor, number][], dst: GpuTensor): void {
    for (const [src, index] of pairs) storeScalarGpu(ctx(), src, dst, index);
    ctx().submit();
  }

  it(`a kernel with new parameters in ${CHANGING_RUN} submits in a row writes its new ones into pooled uniforms: then no buffer or bind group is made, and each submit sees its own values`, async () => {
    const g = gpu();
    const src = g.fromArray([7], [1]);
    const dst = g.zeros([10]);
    for (let i = 0; i < CHANGING_RUN; i++) stores([[src, i]], dst);
    const warm = { uniforms: ctx().uniforms.size, misses: ctx().bindGroups.misses };
    for (let i = CHANGING_RUN; i < 10; i++) stores([[src, i]], dst);
    expect({ uniforms: ctx().uniforms.size, misses: ctx().bindGroups.misses }).toEqual(warm);
    expect(Array.from(await g.read(dst))).toEqual(new Array(10).fill(7));
    g.dispose(src, dst);
  });

  it('pooled uniforms serve one content each in a submit, and come back in the order they were taken', () => {
    const cache = new UniformCache(ctx().device);
    const kernel = {};
    for (let i = 0; i < CHANGING_RUN; i++) {
      cache.get([100 + i, 0, 0, 0], kernel);
      cache.retire();
    }
    // The last of those went into a pooled buffer, free again now.
    const size = cache.size;
    const x = cache.get([1, 0, 0, 0], kernel);
    expect(cache.get([1, 0, 0, 0], kernel)).toBe(x);
    const y = cache.get([2, 0, 0, 0], kernel);
    expect(y).not.toBe(x);
    expect(cache.size).toBe(size + 1);
    cache.retire();
    expect(cache.get([3, 0, 0, 0], kernel)).toBe(x);
    expect(cache.get([4, 0, 0, 0], kernel)).toBe(y);
    // Another kernel's new contents get buffers of their own.
    expect(cache.get([5, 0, 0, 0], {})).not.toBe(x);
    cache.retire();
    cache.destroy();
  });

  it('a dispatch repeated in one submit with other pooled parameters sees its own, and its bind groups are found in later submits', async () => {
    const g = gpu();
    const a = g.fromArray([1], [1]);
    const b = g.fromArray([2], [1]);
    const dst = g.zeros([100]);
    for (let i = 0; i < CHANGING_RUN; i++) stores([[a, 90 + i]], dst);
    stores([[a, 50], [a, 51], [b, 52], [b, 52]], dst);
    stores([[a, 60], [a, 61], [b, 62], [b, 62]], dst);
    const warm = { uniforms: ctx().uniforms.size, misses: ctx().bindGroups.misses };
    stores([[a, 70], [a, 71], [b, 72], [b, 72]], dst);
    expect({ uniforms: ctx().uniforms.size, misses: ctx().bindGroups.misses }).toEqual(warm);
    const got = Array.from(await g.read(dst));
    expect([50, 51, 52, 60, 61, 62, 70, 71, 72].map((i) => got[i])).toEqual([1, 1, 2, 1, 1, 2, 1, 1, 2]);
    g.dispose(a, b, dst);
  });

  it('Adam over more steps than the limit still trains correctly, its changing uniform in a pooled buffer', async () => {
    const { Adam } = await import('../src/train/optimizer.js');
    const g = gpu();
    const p = g.fromArray([1, 2, 3], [3]);
    const grad = g.fromArray([0.5, -1, 2], [3]);
    const adam = new Adam(g, 0.01);
    const param = { name: 'p', value: p, grad };
    // Each step has its own lr_t, more steps than the cache's limit: after the first steps
    // it is written into a pooled uniform, and no uniform buffer or bind group is made.
    let warm: { uniforms: number; groups: number } | undefined;
    for (let i = 0; i < 1100; i++) {
      adam.update([param]);
      g.flush();
      if (i === CHANGING_RUN) warm = { uniforms: ctx().uniforms.size, groups: ctx().bindGroups.size };
    }
    const out = await g.read(p);
    expect({ uniforms: ctx().uniforms.size, groups: ctx().bindGroups.size }).toEqual(warm);
    expect(ctx().uniforms.size).toBeLessThanOrEqual(ctx().uniforms.limit);
    // A constant gradient: Adam moves each coordinate by ~lr per step against its sign.
    expect(out[0]).toBeLessThan(1 - 9);
    expect(out[1]).toBeGreaterThan(2 + 9);
    expect(Number.isFinite(out[2])).toBe(true);
    adam.dispose();
    g.dispose(p, grad);
  });
});
