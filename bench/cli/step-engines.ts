/**
 * The steps section's engines in Node: ours on a fresh Dawn device and on the CPU, and the peers
 * the browser bench runs (TF.js webgpu, wasm and cpu, jax-js webgpu), here on navigator.gpu from
 * Dawn on the adapter ours gets (./peers.ts), so one run on one machine compares every engine on
 * one adapter. Each engine trains alone, from our initial weights, on the batches it is given, and
 * is disposed before the next one starts.
 */
import type { GpuContext, Mnist } from 'webgpu-backprop';
import type { AdapterChoice } from 'webgpu-backprop/node';
import type { EngineName, TrainingEngine } from '../lib/engine.js';
import { initialParams, type InitialParams, type ModelSpec } from '../lib/model.js';
import { oursCpu, oursGpu, oursGpuFused } from '../lib/ours.js';
import type { Plan, StepPlan } from '../lib/plan.js';
import { runTraining, type Progress, type TrainingResult } from '../lib/train-bench.js';
import type { TfjsBackend } from '../peers/tfjs-conv.js';
import { installNavigatorGpu, loadTfjs } from './peers.js';
import { withGpu } from './with-gpu.js';

export interface StepEnv {
  adapter: AdapterChoice;
  mnist: Mnist;
  spec: ModelSpec;
  batch: number;
  /** Told of every device of ours opened, so the result can name the adapter. */
  onDevice(ctx: GpuContext): void;
}

/**
 * A quick run's peers take three steps (ours take the quick plan's eight): it checks that they
 * run and train as ours does (test/bench.test.ts holds their loss to ours after the same three
 * steps), and every step of TF.js webgpu costs a third of a second on a software adapter.
 */
export const QUICK_PEER_STEPS: StepPlan = { warmup: 1, steps: 1, window: 1, windows: 1 };

/** The steps `name` takes in this run. */
export function stepPlanFor(name: EngineName, plan: Plan): StepPlan {
  return plan.quick && !name.startsWith('ours-') ? QUICK_PEER_STEPS : plan.train;
}

export type StepTrainer = (name: EngineName, plan: StepPlan, batches: readonly Uint32Array[], progress: Progress) => Promise<TrainingResult>;

/** Trains one engine at a time; what the peers share (weights, navigator.gpu, TF.js) is made once. */
export function stepTrainer(env: StepEnv): StepTrainer {
  let init: Promise<InitialParams> | undefined;
  const weights = () => (init ??= initialParams(env.spec));
  let peersGpu: Promise<void> | undefined;
  // A device of ours opened only to learn its adapter, which the peers are then given.
  const onOurAdapter = () => (peersGpu ??= withGpu(env.adapter, async (ctx) => {
    env.onDevice(ctx);
    await installNavigatorGpu(ctx.adapter);
  }));

  async function tfjs(backend: TfjsBackend): Promise<TrainingEngine> {
    // TF.js registers its webgpu backend only if navigator.gpu is there when it loads; its wasm
    // and cpu backends need no adapter, so they still run where there is none.
    await onOurAdapter().catch((e: unknown) => {
      if (backend === 'webgpu') throw e;
    });
    const { tf } = await loadTfjs();
    const { tfjsEngine } = await import('../peers/tfjs.js');
    return tfjsEngine(tf, backend, env.mnist, await weights(), env.spec);
  }

  async function peer(name: Exclude<EngineName, `ours-${string}`>): Promise<TrainingEngine> {
    if (name !== 'jax-webgpu') return tfjs(name.slice('tfjs-'.length) as TfjsBackend);
    await onOurAdapter();
    const { jaxEngine } = await import('../peers/jax.js');
    return jaxEngine(env.mnist, await weights(), env.spec, env.batch);
  }

  const train = async (engine: TrainingEngine, plan: StepPlan, batches: readonly Uint32Array[], progress: Progress) => {
    try {
      return await runTraining(engine, plan, batches, progress);
    } finally {
      engine.dispose();
    }
  };

  return async (name, plan, batches, progress) => {
    if (name === 'ours-gpu' || name === 'ours-gpu-fused') {
      return withGpu(env.adapter, async (ctx) => {
        env.onDevice(ctx);
        const engine = name === 'ours-gpu' ? await oursGpu(ctx, env.mnist, env.spec) : await oursGpuFused(ctx, env.mnist, env.spec, env.batch);
        return train(engine, plan, batches, progress);
      });
    }
    if (name === 'ours-cpu') return train(oursCpu(env.mnist, env.spec), plan, batches, progress);
    const t0 = performance.now();
    const engine = await peer(name);
    progress(`${name}: setup ${((performance.now() - t0) / 1000).toFixed(1)} s (not timed)`);
    return train(engine, plan, batches, progress);
  };
}
