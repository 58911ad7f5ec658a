/**
 * One way of training the seed's TwoLayerNet: ours on the GPU or the CPU, or a peer library.
 * Every engine is driven the same way by runTraining: the same batches, the same step counts,
 * and the same sync points (readLoss is the only call that waits for the device).
 */
export interface TrainingEngine {
  /** Key in the result's engines map, e.g. 'ours-gpu', 'tfjs-webgpu'. */
  readonly name: string;
  /** What runs it: adapter, backend, library version. */
  readonly label: string;
  /** How the training step is written, for the report. */
  readonly how: string;
  /** Records or computes one SGD step on the training rows `indices`; returns without waiting. */
  step(indices: Uint32Array): void;
  /** Reads the last step's loss back to the CPU, which waits until the device has finished it. */
  readLoss(): Promise<number>;
  /** GPU memory the engine holds, where it can tell (ours: the buffer pool, dataset included). */
  memory?(): MemoryStats;
  /** Accuracy on the whole test split, after training. */
  testAccuracy(): Promise<number>;
  dispose(): void;
}

export interface MemoryStats {
  bytes_in_use: number;
  bytes_allocated: number;
  buffers_allocated: number;
}

/** The steps section's engines, in the order they train: the browser bench and the Node bench run them all. */
// ours-gpu is the book's layer-by-layer step; ours-gpu-fused the fused one the Trainer runs by default.
export const ENGINE_NAMES = ['ours-gpu', 'ours-gpu-fused', 'ours-cpu', 'tfjs-webgpu', 'tfjs-wasm', 'tfjs-cpu', 'jax-webgpu'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];
