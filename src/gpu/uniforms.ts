/**
 * Uniform buffers by content (a dispatch's parameters, the uniform struct at binding 0). A
 * training step launches the same kernels with the same shapes every time, so after the first
 * step no uniform is made or written for them: each content has a buffer of its own, shared by
 * every dispatch that needs it, and no dispatch can see a later write to its parameters.
 *
 * A kernel whose contents are new submit after submit (Adam's, with its bias-corrected learning
 * rate) would make a buffer, and a bind group for it, every step. Once a kernel has brought new
 * contents in `CHANGING_RUN` submits in a row, its new contents are written into pooled buffers
 * instead (`queue.writeBuffer`), which serve only the submit being recorded and go back to the
 * pool after it, first in, first out: a step that takes them in the same order gets the same
 * ones every time, so their bind groups are found in the cache too. A write runs before any
 * command buffer submitted after it, and a pooled buffer is written again only after the submit
 * that read it.
 *
 * Past `limit` contents the oldest is dropped. It may still be named by work recorded but not
 * yet submitted: it is destroyed at the next submit (`retire`), which WebGPU allows for work
 * already submitted.
 */
export class UniformCache {
  private readonly buffers = new Contents();
  /** By kernel: the last submit that brought a new content, and how many submits in a row did (sticky once CHANGING_RUN). */
  private readonly novelty = new WeakMap<object, { serial: number; run: number }>();
  /** Pooled buffers taken in the submit being recorded, by content. */
  private current = new Contents();
  /** Pooled buffers free for this submit, by their contents' length in words. */
  private readonly free = new Map<number, Pooled[]>();
  /** Pooled buffers taken since the last submit, in order. */
  private taken: Pooled[] = [];
  private pooled = 0;
  private retired: GPUBuffer[] = [];
  /** Counts submits (`retire`). */
  private serial = 0;

  constructor(
    private readonly device: GPUDevice,
    readonly limit = 1024,
  ) {}

  /** Uniform buffers alive: by content and pooled. */
  get size(): number {
    return this.buffers.size + this.pooled;
  }

  /**
   * `words` is the uniform struct as 32-bit words; f32 fields are written with `f32bits`.
   * `kernel`, any object that stands for the kernel (its pipeline), tells kernels whose
   * contents change every submit from the rest.
   */
  get(words: readonly number[], kernel?: object): GPUBuffer {
    const hash = hashWords(words);
    const buffer = this.buffers.get(hash, words) ?? this.current.get(hash, words);
    if (buffer) return buffer;
    if (kernel && this.changing(kernel)) {
      const pooled = this.take(words);
      this.current.add(hash, pooled.words, pooled.buffer);
      return pooled.buffer;
    }
    if (this.buffers.size >= this.limit) this.retired.push(this.buffers.dropOldest());
    const made = this.create(words);
    this.buffers.add(hash, Uint32Array.from(words), made);
    return made;
  }

  /** After a submit: frees the buffers dropped before it, and the pooled ones for the next. */
  retire(): void {
    this.serial += 1;
    for (const buffer of this.retired) buffer.destroy();
    this.retired = [];
    for (const pooled of this.taken) {
      const list = this.free.get(pooled.words.length);
      if (list) list.push(pooled);
      else this.free.set(pooled.words.length, [pooled]);
    }
    this.taken = [];
    if (this.current.size > 0) this.current = new Contents();
  }

  destroy(): void {
    this.retire();
    for (const buffer of this.buffers.drain()) buffer.destroy();
    for (const list of this.free.values()) for (const { buffer } of list) buffer.destroy();
    this.free.clear();
    this.pooled = 0;
  }

  /** Notes a new content of `kernel`; true once it has brought new ones in CHANGING_RUN submits in a row. */
  private changing(kernel: object): boolean {
    const n = this.novelty.get(kernel);
    if (!n) {
      this.novelty.set(kernel, { serial: this.serial, run: 1 });
      return false;
    }
    if (n.run < CHANGING_RUN && n.serial !== this.serial) {
      n.run = n.serial === this.serial - 1 ? n.run + 1 : 1;
      n.serial = this.serial;
    }
    return n.run >= CHANGING_RUN;
  }

  /** A pooled buffer holding `words`, for the submit being recorded. */
  private take(words: readonly number[]): Pooled {
    let pooled = this.free.get(words.length)?.shift();
    if (pooled) {
      // Its own host copy, rewritten in place: a steady step allocates nothing here. Free means
      // every submit that read the buffer has been submitted, and this write runs after them.
      pooled.words.set(words);
      this.device.queue.writeBuffer(pooled.buffer, 0, pooled.words);
    } else {
      pooled = { buffer: this.create(words), words: Uint32Array.from(words) };
      this.pooled += 1;
    }
    this.taken.push(pooled);
    return pooled;
  }

  private create(words: readonly number[]): GPUBuffer {
    const buffer = this.device.createBuffer({ size: uniformBytes(words.length), usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, mappedAtCreation: true });
    new Uint32Array(buffer.getMappedRange()).set(words);
    buffer.unmap();
    return buffer;
  }
}

/**
 * Buffers by content, found by a hash of the words and compared word by word: no key string is
 * built for a lookup. Kept in the order they were added, for dropping the oldest.
 */
class Contents {
  private readonly byHash = new Map<number, Content[]>();
  private readonly order: Content[] = [];

  get size(): number {
    return this.order.length;
  }

  get(hash: number, words: readonly number[]): GPUBuffer | undefined {
    const list = this.byHash.get(hash);
    if (list) for (const c of list) if (sameWords(c.words, words)) return c.buffer;
    return undefined;
  }

  /** `words` is kept as it is, not copied: the caller does not change it while it is filed here. */
  add(hash: number, words: Uint32Array, buffer: GPUBuffer): void {
    const content = { hash, words, buffer };
    const list = this.byHash.get(hash);
    if (list) list.push(content);
    else this.byHash.set(hash, [content]);
    this.order.push(content);
  }

  /** Forgets the oldest content and returns its buffer. */
  dropOldest(): GPUBuffer {
    const oldest = this.order.shift()!;
    const list = this.byHash.get(oldest.hash)!;
    list.splice(list.indexOf(oldest), 1);
    if (list.length === 0) this.byHash.delete(oldest.hash);
    return oldest.buffer;
  }

  /** Forgets every content and returns their buffers. */
  drain(): GPUBuffer[] {
    const buffers = this.order.map((c) => c.buffer);
    this.byHash.clear();
    this.order.length = 0;
    return buffers;
  }
}

interface Content {
  readonly hash: number;
  /** As the buffer holds them: 32-bit unsigned. */
  readonly words: Uint32Array;
  readonly buffer: GPUBuffer;
}

/** FNV-1a over the words as the buffer holds them (32-bit unsigned). */
function hashWords(words: readonly number[]): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ (words[i]! >>> 0), 0x01000193);
  return (h ^ words.length) >>> 0;
}

function sameWords(a: Uint32Array, b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]! >>> 0) return false;
  return true;
}

/** Submits in a row with new contents after which a kernel's new contents go into pooled buffers. */
export const CHANGING_RUN = 3;

/** A pooled uniform buffer and the host copy of what it holds (filed in `current` for its submit). */
interface Pooled {
  readonly buffer: GPUBuffer;
  readonly words: Uint32Array;
}

/** Bytes of a uniform buffer for `words` 32-bit words: whole 16-byte rows, at least one. */
export function uniformBytes(words: number): number {
  return Math.max(16, Math.ceil(words / 4) * 16);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The bit pattern of a float32, for packing f32 fields into a uniform of u32 words. */
export function f32bits(value: number): number {
  f32[0] = value;
  return u32[0]!;
}
