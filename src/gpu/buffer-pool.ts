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

/** A buffer the pool owns: its size, and whether a caller holds it (a second release is refused). */
interface Held {
  readonly buffer: GPUBuffer;
  readonly size: number;
  live: boolean;
}

/** Sizes are rounded up so that near-equal shapes share buffers; 256 also satisfies every alignment rule. */
const GRANULE = 256;

/**
 * GPU buffers by size, reused across steps: a buffer disposed in one step serves the next after the
 * submit, so a steady training step allocates nothing. Reports bytes in use and bytes allocated.
 */
export class BufferPool {
  private readonly free = new Map<number, Held[]>();
  private pending: Held[] = [];
  /** Every buffer the pool owns, with its size (kept here: `GPUBuffer.size` is a call into the browser or Dawn). */
  private readonly owned = new Map<GPUBuffer, Held>();
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
    let held = this.free.get(size)?.shift();
    if (!held) {
      const buffer = this.guard(size, () => this.device.createBuffer({ size, usage: this.usage, label }));
      held = { buffer, size, live: false };
      this.owned.set(buffer, held);
      this.allocatedBytes += size;
    }
    held.live = true;
    this.inUse += 1;
    this.inUseBytes += size;
    // Safe before the step's submit: a free buffer is never used by the unsubmitted encoder.
    if (this.poison) this.device.queue.writeBuffer(held.buffer, 0, new Float32Array(size / 4).fill(NaN));
    return held.buffer;
  }

  release(buffer: GPUBuffer): void {
    const held = this.owned.get(buffer);
    if (!held) throw new Error('BufferPool.release: buffer does not belong to this pool');
    if (!held.live) throw new Error('BufferPool.release: buffer was released twice');
    held.live = false;
    this.inUse -= 1;
    this.inUseBytes -= held.size;
    this.pending.push(held);
  }

  /** Called after a submit: buffers released before it may now be reused. */
  recycle(): void {
    for (const held of this.pending) {
      const list = this.free.get(held.size);
      if (list) list.push(held);
      else this.free.set(held.size, [held]);
    }
    this.pending = [];
  }

  /**
   * Frees the buffers nobody holds (e.g. after a run with other shapes). Buffers released since
   * the last submit are kept: work recorded but not yet submitted may still use them.
   */
  trim(): void {
    for (const list of this.free.values()) {
      for (const { buffer, size } of list) {
        this.owned.delete(buffer);
        this.allocatedBytes -= size;
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
    for (const buffer of this.owned.keys()) buffer.destroy();
    this.owned.clear();
    this.free.clear();
    this.pending = [];
    this.inUse = this.inUseBytes = this.allocatedBytes = 0;
  }
}
