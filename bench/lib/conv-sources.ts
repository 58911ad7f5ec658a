/**
 * The conv comparison's engines that run alike in Node and in the bench page: ours on the GPU
 * and the CPU, TF.js on its three backends, jax-js on WebGPU. What differs between the two is
 * only how the peers are reached (Node: navigator.gpu from Dawn and TF.js from an esbuild
 * bundle, bench/cli/peers.ts; a page: its own navigator.gpu and TF.js bundled by Vite,
 * bench/page/tfjs-peer.ts), and the book's NumPy code, which only Node can start (python3).
 */
import type { GpuContext, Mnist } from 'webgpu-backprop';
import type { Tf, TfjsBackend } from '../peers/tfjs-conv.js';
import { CONV_ENGINES, type ConvEngine, type ConvEngineName, type ConvEngineSource, type ConvTrainSet } from './conv-bench.js';
import type { ConvParams, ConvSpec } from './conv-model.js';
import { normalized } from './data.js';
import { oursConvCpu, oursConvGpu } from './ours.js';

/** Every conv engine but NumPy, which runs in a python3 process beside Node: what a page can run. */
export type BrowserConvEngineName = Exclude<ConvEngineName, 'numpy'>;
export const BROWSER_CONV_ENGINES = CONV_ENGINES.filter((name): name is BrowserConvEngineName => name !== 'numpy');

/** How a runner reaches the peers. */
export interface ConvPeerAccess {
  /** Called before any peer loads: Node installs navigator.gpu there (TF.js registers webgpu only if it is set). */
  webgpu?(): Promise<void>;
  /** TF.js core with its gradients and three backends registered, the wasm binaries' paths set. */
  tfjs(): Promise<Tf>;
}

/** What every engine trains from: the data, our initial weights, and ours' GPU context (opened on first use). */
export interface ConvInputs {
  gpu(): Promise<GpuContext>;
  mnist: Mnist;
  init: ConvParams;
  spec: ConvSpec;
}

/** How to open each engine that runs in Node and in a page alike. */
export function convOpeners({ gpu, mnist, init, spec }: ConvInputs, peers: ConvPeerAccess): Record<BrowserConvEngineName, () => Promise<ConvEngine>> {
  // The training set as the peers upload it, made once for all of them.
  let set: ConvTrainSet | undefined;
  const train = () => (set ??= { x: normalized(mnist.train), labels: mnist.train.labels, count: mnist.train.count });
  const tfjs = async (backend: TfjsBackend) => {
    await peers.webgpu?.();
    const tf = await peers.tfjs();
    const { tfjsConvEngine } = await import('../peers/tfjs-conv.js');
    return tfjsConvEngine(tf, backend, train(), init, spec);
  };
  return {
    'ours-gpu': async () => oursConvGpu(await gpu(), mnist, spec),
    'ours-cpu': async () => oursConvCpu(mnist, spec),
    'tfjs-webgpu': () => tfjs('webgpu'),
    'tfjs-wasm': () => tfjs('wasm'),
    'tfjs-cpu': () => tfjs('cpu'),
    'jax-webgpu': async () => {
      await peers.webgpu?.();
      // Loaded only when asked for: jax-js is a large module, and in Node needs navigator.gpu first.
      const { jaxConvEngine } = await import('../peers/jax-conv.js');
      return jaxConvEngine(train(), init, spec);
    },
  };
}

/** The engines asked for, in that order, ready for convBench to open in turn. */
export function convSources<N extends string>(names: readonly N[], open: Record<N, () => Promise<ConvEngine>>): ConvEngineSource[] {
  return names.map((name) => ({ name, open: open[name] }));
}
