/**
 * What the peers (TF.js, jax-js) need to run in Node, shared by the steps and conv sections.
 *
 * TF.js and jax-js find WebGPU through `navigator.gpu`, which Node does not have, so it is set
 * here from a Dawn instance of the driver our own device runs on (SwiftShader's Vulkan ICD on a
 * machine without a GPU), kept for the life of the process as a browser keeps its own.
 *
 * TF.js ships ES modules that Node cannot load as they are (imports of folders, no extensions)
 * and Node bundles without its gradients, so the TF.js peer runs from an esbuild bundle of its
 * ES modules, built into bench/.tmp the first time a section asks for it (about a second).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AdapterDescription } from 'webgpu-backprop';
import { dawnGpuFor } from 'webgpu-backprop/node';
import type { Tf } from '../peers/tfjs-conv.js';
import { tfjsBuildOptions } from '../peers/tfjs-build.mjs';

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

export interface TfjsBundle {
  tf: Tf;
  setWasmPaths(prefix: string): void;
}

let tfjs: Promise<TfjsBundle> | undefined;

/**
 * TF.js core, its gradients and the three backends as one ES module for Node: built once per
 * process in a checkout, or prebuilt beside the bench bundle (bench/bundle.mjs) on a machine
 * without npm. TF.js registers its webgpu backend only if navigator.gpu is there when the bundle
 * loads: install it first.
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
