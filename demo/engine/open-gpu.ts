/**
 * Opens the browser's WebGPU device and compiles the training step's pipelines before the first
 * step, reporting how far compilation is: on a software adapter it takes seconds, and doing it
 * up front (and asynchronously) is what keeps the first training step from freezing the page.
 */
import { GpuBackend, kernelName, NoAdapterError, openBrowserGpu, type KernelSpec, type PipelineCache } from 'webgpu-backprop';

export type GpuOpening = { ok: true; gpu: GpuBackend } | { ok: false; reason: string };

export async function openGpu(onCompiled: (done: number, total: number) => void): Promise<GpuOpening> {
  let gpu: GpuBackend;
  try {
    gpu = new GpuBackend(await openBrowserGpu());
  } catch (e) {
    if (e instanceof NoAdapterError) return { ok: false, reason: e.message };
    return { ok: false, reason: `WebGPU failed to start: ${(e as Error).message}` };
  }
  const pipelines = gpu.ctx.pipelines;
  const total = countRequested(pipelines);
  const report = () => onCompiled(Math.min(pipelines.size, total.value), total.value);
  const poll = setInterval(report, 100);
  try {
    await gpu.prepare();
  } finally {
    clearInterval(poll);
  }
  report();
  return { ok: true, gpu };
}

/**
 * How many pipelines `prepare` has been asked for. GpuBackend.prepare decides which kernels a
 * training step needs and has no progress callback, so the cache's own `prepare` is wrapped to
 * count them, and its `size` says how many are done.
 */
function countRequested(cache: PipelineCache): { value: number } {
  const total = { value: cache.size };
  const prepare = cache.prepare.bind(cache);
  cache.prepare = (specs: KernelSpec[]) => {
    const fresh = new Set(specs.map(kernelName));
    total.value += fresh.size;
    return prepare(specs);
  };
  return total;
}
