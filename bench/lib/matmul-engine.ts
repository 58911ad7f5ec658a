/**
 * One engine's n×n·n×n product of two inputs it was given once: ours (a matmul variant) or a
 * peer's (TF.js webgpu). The matmul comparison drives every engine through this interface, so
 * all of them are checked, warmed up, timed and synced the same way.
 */
export interface MatmulEngine {
  /** Key in the results, e.g. 'tfjs-webgpu', 'ours-unrolled'. */
  readonly name: string;
  /** Queues one product on the device and returns without waiting for it. */
  enqueue(): void;
  /** Waits until every product queued so far has finished on the device. */
  finish(): Promise<void>;
  /** Runs one product and reads the whole result back. */
  product(): Promise<Float32Array>;
  dispose(): void;
}

/** What opens engines for one side of the comparison, and what it runs on. */
export interface MatmulEngineSource {
  /** Library, backend and adapter, for the report. */
  label: string;
  /** The adapter as this engine's own GPUDevice reports it, to show both sides share one. */
  adapter: string;
  open(n: number, a: Float32Array, b: Float32Array): Promise<MatmulEngine>;
}

/** GPUAdapterInfo in one line. */
export function adapterInfoLine(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'unknown (GPUDevice.adapterInfo missing)';
  return [info.vendor, info.architecture, info.description || info.device].filter(Boolean).join(' / ') || 'unnamed adapter';
}
