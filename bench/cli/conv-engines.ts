/**
 * The conv comparison's engines in Node: ours on Dawn and the CPU, the peers on the same adapter
 * through navigator.gpu from Dawn and TF.js from its esbuild bundle (both from ./peers.ts), and
 * the book's NumPy code.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { GpuContext, Mnist } from 'webgpu-backprop';
import type { ConvEngine, ConvEngineName, ConvEngineSource, ConvTrainSet } from '../lib/conv-bench.js';
import type { ConvParams, ConvSpec } from '../lib/conv-model.js';
import { normalized } from '../lib/data.js';
import { oursConvCpu, oursConvGpu } from '../lib/ours.js';
import type { TfjsBackend } from '../peers/tfjs-conv.js';
import { numpyConvEngine } from './numpy-engine.js';
import { installNavigatorGpu, loadTfjs } from './peers.js';

/** The training set as the peers upload it, made once for all of them. */
function trainSet(mnist: Mnist): () => ConvTrainSet {
  let set: ConvTrainSet | undefined;
  return () => (set ??= { x: normalized(mnist.train), labels: mnist.train.labels, count: mnist.train.count });
}

/**
 * Every conv engine asked for, ready to open in turn. `ctx` is ours (its adapter is the one the
 * peers are given); the caller destroys it after the section.
 */
export function convEngineSources(names: readonly ConvEngineName[], ctx: GpuContext, mnist: Mnist, init: ConvParams, spec: ConvSpec, batches: readonly Uint32Array[]): ConvEngineSource[] {
  const train = trainSet(mnist);
  const open: Record<ConvEngineName, () => Promise<ConvEngine>> = {
    'ours-gpu': () => oursConvGpu(ctx, mnist, spec),
    'ours-cpu': async () => oursConvCpu(mnist, spec),
    'tfjs-webgpu': () => tfjsEngine('webgpu'),
    'tfjs-wasm': () => tfjsEngine('wasm'),
    'tfjs-cpu': () => tfjsEngine('cpu'),
    'jax-webgpu': async () => {
      await installNavigatorGpu(ctx.adapter);
      const { jaxConvEngine } = await import('../peers/jax-conv.js');
      return jaxConvEngine(train(), init, spec);
    },
    numpy: () => numpyConvEngine(mnist.train, init, spec, batches),
  };
  async function tfjsEngine(backend: TfjsBackend) {
    await installNavigatorGpu(ctx.adapter);
    const { tf } = await loadTfjs();
    const { tfjsConvEngine } = await import('../peers/tfjs-conv.js');
    return tfjsConvEngine(tf, backend, train(), init, spec);
  }
  return names.map((name) => ({ name, open: open[name] }));
}

/** A full garbage collection, for the conv section to run between engines' steps (untimed). */
export function garbageCollector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
