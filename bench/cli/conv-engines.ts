/**
 * The conv comparison's engines in Node: ours on Dawn and the CPU, and the peers on the same
 * adapter. TF.js and jax-js find WebGPU through `navigator.gpu`, which Node does not have, so it
 * is set here from a Dawn instance of the driver our own device runs on (SwiftShader's Vulkan
 * ICD on a machine without a GPU), kept for the life of the process as a browser keeps its own.
 *
 * TF.js ships ES modules that Node cannot load as they are (imports of folders, no extensions)
 * and Node bundles without its gradients, so the TF.js peer runs from an esbuild bundle of its
 * ES modules, built into bench/.tmp at the start of the section (about a second).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { AdapterDescription, GpuContext, Mnist } from 'webgpu-backprop';
import { dawnGpuFor } from 'webgpu-backprop/node';
import type { ConvEngine, ConvEngineName, ConvEngineSource, ConvTrainSet } from '../lib/conv-bench.js';
import type { ConvParams, ConvSpec } from '../lib/conv-model.js';
import { normalized } from '../lib/data.js';
import { oursConvCpu, oursConvGpu } from '../lib/ours.js';
import type { Tf, TfjsBackend } from '../peers/tfjs-conv.js';
import { tfjsBuildOptions } from '../peers/tfjs-build.mjs';
import { numpyConvEngine } from './numpy-engine.js';

const BENCH = fileURLToPath(new URL('../', import.meta.url));

let navigatorGpu: GPU | undefined;

/**
 * navigator.gpu on the driver our device came from (SwiftShader's ICD when ours is SwiftShader;
 * otherwise the system loader's choice), so the peers get the same adapter.
 */
export async function installNavigatorGpu(ours: AdapterDescription): Promise<void> {
  if (navigatorGpu) return;
  const gpu = await dawnGpuFor(ours);
  navigatorGpu = gpu;
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: `Node.js/${process.version}`, hardwareConcurrency: os.cpus().length }, configurable: true });
}

interface TfjsBundle {
  tf: Tf;
  setWasmPaths(prefix: string): void;
}

let tfjs: Promise<TfjsBundle> | undefined;

/**
 * TF.js core, its gradients and the three backends as one ES module for Node: built once per
 * process in a checkout, or prebuilt beside the bench bundle (bench/bundle.mjs) on a machine
 * without npm.
 */
export function loadTfjs(): Promise<TfjsBundle> {
  tfjs ??= (async () => {
    const prebuilt = join(dirname(fileURLToPath(import.meta.url)), 'peers/tfjs-node.mjs');
    if (existsSync(prebuilt)) return (await import(pathToFileURL(prebuilt).href)) as TfjsBundle;
    const { build } = await import('esbuild');
    const outfile = join(BENCH, '.tmp/peers/tfjs-node.mjs');
    await build(tfjsBuildOptions(outfile));
    const bundle = (await import(pathToFileURL(outfile).href)) as TfjsBundle;
    // The wasm backend reads its .wasm files from the package, as it does when not bundled.
    const wasmDir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    bundle.setWasmPaths(`${join(wasmDir, 'dist')}/`);
    return bundle;
  })();
  return tfjs;
}

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
    // TF.js registers its webgpu backend only if navigator.gpu is there when the bundle loads.
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
