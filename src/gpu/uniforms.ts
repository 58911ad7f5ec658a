/**
 * Uniform buffers cached by content. A training step launches the same kernels with the same
 * shapes every time, so after the first step no uniform is written at all; and because each
 * distinct content has its own buffer, no dispatch can see a later write to its parameters.
 */
export class UniformCache {
  private readonly buffers = new Map<string, GPUBuffer>();

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.buffers.size;
  }

  /** `words` is the uniform struct as 32-bit words; f32 fields are written with `f32bits`. */
  get(words: readonly number[]): GPUBuffer {
    const key = words.join(',');
    let buffer = this.buffers.get(key);
    if (!buffer) {
      const size = Math.max(16, Math.ceil(words.length / 4) * 16);
      buffer = this.device.createBuffer({ size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
      new Uint32Array(buffer.getMappedRange()).set(words);
      buffer.unmap();
      this.buffers.set(key, buffer);
    }
    return buffer;
  }

  destroy(): void {
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
