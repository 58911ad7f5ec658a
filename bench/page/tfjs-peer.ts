/**
 * TF.js as the bench page runs it: core, all its gradients (the umbrella @tensorflow/tfjs package
 * registers them; with core alone, minimize finds none) and the three backends, bundled by Vite,
 * and the wasm backend's binaries as Vite serves them. Loaded only by the pages that train a
 * TF.js engine: the TwoLayerNet's peer (tfjsPageEngine) and the conv section's (pageTfjs).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { Mnist } from 'webgpu-backprop';
import type { TrainingEngine } from '../lib/engine.js';
import type { InitialParams, ModelSpec } from '../lib/model.js';
import { tfjsEngine } from '../peers/tfjs.js';
import type { Tf, TfjsBackend } from '../peers/tfjs-conv.js';

let wasmPathsSet = false;

/**
 * The TF.js module with the wasm binaries' paths set, which must happen before the wasm backend
 * first initializes. The threaded build is picked when the page is cross-origin isolated.
 */
export function pageTfjs(): Tf {
  if (!wasmPathsSet) setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded });
  wasmPathsSet = true;
  return tf;
}

export function tfjsPageEngine(backend: TfjsBackend, mnist: Mnist, init: InitialParams, spec: ModelSpec): Promise<TrainingEngine> {
  return tfjsEngine(pageTfjs(), backend, mnist, init, spec);
}
