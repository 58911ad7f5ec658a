/**
 * Storage buffers reused across steps. A training step asks for the same sizes every time, so
 * after the first step nothing is allocated.
 *
 * A released buffer is not handed out again until the work recorded so far has been submitted:
 * `queue.writeBuffer` runs before any command buffer that is submitted after it, so reusing a
 * buffer inside the step that still reads it would let an upload overwrite its contents early.
 */
export interface PoolStats {
  /** Bytes held by live tensors. */
  bytesInUse: number;
  /** Bytes of every buffer the pool owns, free or not (what the GPU actually holds). */
  bytesAllocated: number;
  buffersInUse: number;
  buffersAllocated: number;
}

/** Sizes are rounded up so that near-equal shapes share buffers; 256 also satisfies every alignment rule. */
const GRANULE = 256;

/**
 * GPU buffers by size, reused across steps: a buffer disposed in one step serves the next after the
 * submit, so a steady training step allocates nothing. Reports bytes in use and bytes allocated.
 */
export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private pending: GPUBuffer[] = [];
  private readonly owned = new Set<GPUBuffer>();
  /** Handed out by acquire and not yet released: a second release of one is refused. */
  private readonly live = new Set<GPUBuffer>();
  private inUse = 0;
  private inUseBytes = 0;
  private allocatedBytes = 0;
  /**
   * Tests set this: every acquired buffer is filled with NaN first, so a kernel that leaves part
   * of its output unwritten shows NaN instead of a plausible zero or a previous result.
   */
  poison = false;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    /** Wraps creation so an out-of-memory error names the size (GpuContext.scoped). */
    private readonly guard: (bytes: number, create: () => GPUBuffer) => GPUBuffer = (_, create) => create(),
  ) {}

  static roundSize(bytes: number): number {
    return Math.max(GRANULE, Math.ceil(bytes / GRANULE) * GRANULE);
  }

  acquire(bytes: number, label?: string): GPUBuffer {
    const size = BufferPool.roundSize(bytes);
    // First in, first out: a step that releases its buffers in the order it acquires them gets the
    // same buffer for the same role every other step, so bind groups made for it are reused.
    let buffer = this.free.get(size)?.shift();
    if (!buffer) {
      buffer = this.guard(size, () => this.device.createBuffer({ size, usage: this.usage, label }));
      this.owned.add(buffer);
      this.allocatedBytes += size;
    }
    this.live.add(buffer);
    this.inUse += 1;
    this.inUseBytes += size;
    // Safe before the step's submit: a free buffer is never used by the unsubmitted encoder.
    if (this.poison) this.device.queue.writeBuffer(buffer, 0, new Float32Array(size / 4).fill(NaN));
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (!this.owned.has(buffer)) throw new Error('BufferPool.release: buffer does not belong to this pool');
    if (!this.live.delete(buffer)) throw new Error('BufferPool.release: buffer was released twice');
    this.inUse -= 1;
    this.inUseBytes -= buffer.size;
    this.pending.push(buffer);
  }

  /** Called after a submit: buffers released before it may now be reused. */
  recycle(): void {
    for (const buffer of this.pending) {
      const list = this.free.get(buffer.size);
      if (list) list.push(buffer);
      else this.free.set(buffer.size, [buffer]);
    }
    this.pending = [];
  }

  /**
   * Frees the buffers nobody holds (e.g. after a run with other shapes). Buffers released since
   * the last submit are kept: work recorded but not yet submitted may still use them.
   */
  trim(): void {
    for (const list of this.free.values()) {
      for (const buffer of list) {
        this.owned.delete(buffer);
        this.allocatedBytes -= buffer.size;
        buffer.destroy();
      }
    }
    this.free.clear();
  }

  stats(): PoolStats {
    return {
      bytesInUse: this.inUseBytes,
      bytesAllocated: this.allocatedBytes,
      buffersInUse: this.inUse,
      buffersAllocated: this.owned.size,
    };
  }

  destroy(): void {
    for (const buffer of this.owned) buffer.destroy();
    this.owned.clear();
    this.live.clear();
    this.free.clear();
    this.pending = [];
    this.inUse = this.inUseBytes = this.allocatedBytes = 0;
  }
}
