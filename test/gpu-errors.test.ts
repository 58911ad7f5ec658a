import { expect, it } from 'vitest';
import { GpuError } from '../src/device/errors.js';
import { matmulKernel } from '../src/kernels/matmul.js';
import { GpuTensor } from '../src/tensor/gpu-tensor.js';
import { thrown } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';

const { ctx, gpu } = useGpu();

it('an op that would write into its own input is refused before dispatch, naming the kernel', () => {
  const w = gpu().fromArray([1, 2, 3], [3]);
  const e = thrown(() => gpu().sgdUpdate(w, w, 0.1));
  expect(e).toBeInstanceOf(GpuError);
  expect(e.message).toMatch(/^optimizers\.sgd(_x8)?: the same buffer is bound as output \(binding 2\) and as binding 1/);
  const a = GpuTensor.empty(ctx(), [4, 4]);
  const spec = matmulKernel('unrolled', {}, false);
  const e2 = thrown(() =>
    ctx().dispatch({ kernel: spec, params: [4, 4, 4, 0], buffers: [a.buffer, a.buffer, ctx().placeholder, a.buffer], workgroups: [1], shapes: '' }),
  );
  expect(e2.message).toMatch(/^matmul\.matmul_unrolled.*binding 4/);
  gpu().dispose(w, a);
});

it('a kernel that fails to compile is reported with its name at the next submit, and the context carries on', async () => {
  const out = GpuTensor.empty(ctx(), [4]);
  const bad = { family: 'broken', code: '@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }', entryPoint: 'main' };
  ctx().dispatch({ kernel: bad, params: [0], buffers: [], workgroups: [1], shapes: 'nothing' });
  await ctx().device.queue.onSubmittedWorkDone();
  // Every report (the compile error, and what it invalidated) names the kernel.
  const reports: Error[] = [];
  for (let i = 0; i < 5; i++) {
    const e = await ctx().finish().then(() => undefined, (err: Error) => err);
    if (!e) break;
    reports.push(e);
  }
  expect(reports.length).toBeGreaterThan(0);
  expect(reports.length).toBeLessThan(5);
  for (const e of reports) {
    expect(e).toBeInstanceOf(GpuError);
    expect(e.message).toMatch(/broken\.main/);
  }
  // Then the device works as before.
  const x = gpu().fromArray([1, -2, 3], [3]);
  expect(Array.from(await gpu().read(gpu().reluForward(x).y))).toEqual([1, 0, 3]);
  out.dispose();
});
