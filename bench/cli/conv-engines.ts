/**
 * The conv comparison's engines in Node: ours on Dawn and the CPU, the peers on the same adapter
 * through navigator.gpu from Dawn and TF.js from its esbuild bundle (both from ./peers.ts), and
 * the book's NumPy code, which only Node can run.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { GpuContext, Mnist } from 'webgpu-backprop';
import type { ConvEngineName, ConvEngineSource } from '../lib/conv-bench.js';
import type { ConvParams, ConvSpec } from '../lib/conv-model.js';
import { convOpeners, convSources } from '../lib/conv-sources.js';
import { numpyConvEngine } from './numpy-engine.js';
import { installNavigatorGpu, loadTfjs } from './peers.js';

/**
 * Every conv engine asked for, ready to open in turn. `ctx` is ours (its adapter is the one the
 * peers are given); the caller destroys it after the section.
 */
export function convEngineSources(names: readonly ConvEngineName[], ctx: GpuContext, mnist: Mnist, init: ConvParams, spec: ConvSpec, batches: readonly Uint32Array[]): ConvEngineSource[] {
  const peers = { webgpu: () => installNavigatorGpu(ctx.adapter), tfjs: async () => (await loadTfjs()).tf };
  return convSources(names, {
    ...convOpeners({ gpu: async () => ctx, mnist, init, spec }, peers),
    numpy: () => numpyConvEngine(mnist.train, init, spec, batches),
  });
}

/** A full garbage collection, for the conv section to run between engines' steps (untimed). */
export function garbageCollector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
