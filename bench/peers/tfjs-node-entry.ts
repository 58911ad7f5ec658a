/**
 * The entry of the TF.js bundle the Node bench builds with esbuild (bench/cli/peers.ts):
 * TF.js core from its ES modules, all its gradients (the umbrella @tensorflow/tfjs package
 * registers them; core alone does not) and the webgpu, wasm and cpu backends, as the bench page
 * imports them.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgpu';

export * as tf from '@tensorflow/tfjs-core';
export { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
