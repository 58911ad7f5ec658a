/**
 * Uniform buffers cached by content. A training step launches the same kernels with the same
 * shapes every time, so after the first step no uniform is written at all; and because each
 * distinct content has its own buffer, no dispatch can see a later write to its parameters.
 *
 * Contents that change every step (Adam's bias-corrected learning rate) would grow the cache
 * without end, so it keeps the `limit` most recently used. An evicted buffer may still be
 * named by work recorded but not yet submitted: it is destroyed at the next submit (`retire`),
 * which WebGPU allows for work already submitted.
 */
export class UniformCache {
  private readonly buffers = new Map<string, GPUBuffer>();
  private retired: GPUBuffer[] = [];

  constructor(
    private readonly device: GPUDevice,
    readonly limit = 1024,
  ) {}

  get size(): number {
    return this.buffers.size;
  }

  /** `words` is the uniform struct as 32-bit words; f32 fields are written with `f32bits`. */
  get(words: readonly number[]): GPUBuffer {
    const key = words.join(',');
    let buffer = this.buffers.get(key);
    if (buffer) {
      // Map order is insertion order: re-inserting marks it most recently used.
      this.buffers.delete(key);
      this.buffers.set(key, buffer);
      return buffer;
    }
    if (this.buffers.size >= this.limit) {
      const [oldest, old] = this.buffers.entries().next().value as [string, GPUBuffer];
      this.buffers.delete(oldest);
      this.retired.push(old);
    }
    const size = Math.max(16, Math.ceil(words.length / 4) * 16);
    buffer = this.device.createBuffer({ size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
    new Uint32Array(buffer.getMappedRange()).set(words);
    buffer.unmap();
    this.buffers.set(key, buffer);
    return buffer;
  }

  /** After a submit: frees the buffers evicted before it. */
  retire(): void {
    for (const buffer of this.retired) buffer.destroy();
    this.retired = [];
  }

  destroy(): void {
    this.retire();
    for (const buffer of this.buffers.values()) buffer.destroy();
    this.buffers.clear();
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The bit pattern of a float32, for packing f32 fields into a uniform of u32 words. */
export function f32bits(value: number): number {
  f32[0] = value;
  return u32[0]!;
}
