/** No usable WebGPU adapter: the message says what to install, not where it failed. */
export class NoAdapterError extends Error {
  override name = 'NoAdapterError';
}

/** A WebGPU validation or out-of-memory error, named after the kernel that raised it. */
export class GpuError extends Error {
  override name = 'GpuError';
}
