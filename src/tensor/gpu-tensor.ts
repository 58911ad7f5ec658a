import type { GpuContext } from '../gpu/gpu-context.js';
import { checkShape, ShapeError, shapeStr, sizeOf, type Shape } from './shape.js';
import type { Tensor } from './tensor.js';

/** What a GPU tensor's 32-bit words hold: floats, or unsigned integers (labels, indices). */
export type GpuDType = 'f32' | 'u32';

/**
 * A tensor in a GPU storage buffer taken from the context's pool. Its data is f32 (u32 for class
 * indices); `read` is the only way back to the CPU and is asynchronous.
 */
export class GpuTensor implements Tensor {
  readonly size: number;
  private disposed = false;

  private constructor(
    readonly ctx: GpuContext,
    readonly shape: Shape,
    readonly dtype: GpuDType,
    private readonly storage: GPUBuffer,
    /** A view shares another tensor's buffer and gives nothing back to the pool. */
    private readonly ownsStorage = true,
  ) {
    this.size = sizeOf(shape);
  }

  /**
   * The same buffer under another shape of the same size (a flatten, rows of pixels seen as
   * images): no copy, valid while this tensor is; disposing the view frees nothing.
   */
  view(shape: Shape): GpuTensor {
    checkShape(shape, 'GpuTensor.view');
    if (sizeOf(shape) !== this.size) {
      throw new ShapeError(`reshape: ${shapeStr(this.shape)} (${this.size} values) cannot be viewed as ${shapeStr(shape)} (${sizeOf(shape)} values)`);
    }
    return new GpuTensor(this.ctx, shape, this.dtype, this.buffer, false);
  }

  /** A tensor with undefined contents: every op writes its whole output. */
  static empty(ctx: GpuContext, shape: Shape, dtype: GpuDType = 'f32'): GpuTensor {
    checkShape(shape, 'GpuTensor');
    const bytes = sizeOf(shape) * 4;
    const limit = ctx.maxStorageBufferBindingSize;
    if (bytes > limit) {
      throw new ShapeError(
        `GpuTensor ${shapeStr(shape)} needs ${bytes} bytes, over this adapter's maxStorageBufferBindingSize of ${limit}`,
      );
    }
    return new GpuTensor(ctx, shape, dtype, ctx.pool.acquire(bytes));
  }

  static from(ctx: GpuContext, data: ArrayLike<number>, shape: Shape, dtype: GpuDType = 'f32'): GpuTensor {
    const t = GpuTensor.empty(ctx, shape, dtype);
    if (data.length !== t.size) {
      t.dispose();
      throw new ShapeError(`GpuTensor.from: ${data.length} values do not fill shape ${shapeStr(shape)} (${t.size} values)`);
    }
    t.write(data);
    return t;
  }

  get buffer(): GPUBuffer {
    if (this.disposed) throw new Error(`GpuTensor ${shapeStr(this.shape)} used after dispose()`);
    return this.storage;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  write(data: ArrayLike<number>): void {
    const typed = this.dtype === 'u32' ? (data instanceof Uint32Array ? data : Uint32Array.from(data)) : data instanceof Float32Array ? data : Float32Array.from(data);
    this.ctx.device.queue.writeBuffer(this.buffer, 0, typed.buffer, typed.byteOffset, this.size * 4);
  }

  async read(): Promise<Float32Array | Uint32Array> {
    const bytes = await this.ctx.read(this.buffer, this.size * 4);
    return this.dtype === 'u32' ? new Uint32Array(bytes) : new Float32Array(bytes);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.ownsStorage) this.ctx.pool.release(this.storage);
  }
}
