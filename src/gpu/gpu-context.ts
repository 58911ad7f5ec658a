import type { AdapterDescription } from '../device/adapter-info.js';
import { GpuError } from '../device/errors.js';
import { BindGroupCache } from './bind-groups.js';
import { BufferPool } from './buffer-pool.js';
import { PipelineCache, type KernelEntry, type KernelSpec } from './pipeline-cache.js';
import { UniformCache } from './uniforms.js';
import { pollGently } from './gentle-poll.js';

/** How a context waits for its device. */
export interface GpuContextOptions {
  /**
   * Poll gently (pollGently: a short sleep between Dawn's event checks) while waiting for a
   * software adapter: for Node, where dawn.node's polling spins on the cores the shaders run on.
   * Browsers must leave it off (their main thread may not block, and does not spin).
   */
  gentleWaits?: boolean;
}

/** One recorded dispatch, as the demo and the benchmarks show it. */
export interface DispatchRecord {
  kernel: string;
  /** Human-readable operand shapes, e.g. 'A[100,784] B[784,50] -> C[100,50]'. */
  shapes: string;
  workgroups: [number, number, number];
}

/** One compute dispatch as a kernel launcher describes it. */
export interface Dispatch {
  kernel: KernelSpec;
  /** Uniform struct as 32-bit words (binding 0). */
  params: readonly number[];
  /** Storage buffers by binding number, starting at 1; holes for bindings this entry point does not use. */
  buffers: readonly (GPUBuffer | undefined)[];
  workgroups: readonly [number, number?, number?];
  shapes: string;
}

/**
 * A WebGPU device and everything that lives as long as it: buffer pool, pipelines, uniforms and
 * the command encoder that the current step is recorded into. Nothing here waits for the GPU
 * except `read`.
 */
export class GpuContext {
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly uniforms: UniformCache;
  readonly bindGroups: BindGroupCache;
  /** Bound where an entry point declares a storage binding it does not read in this variant. */
  readonly placeholder: GPUBuffer;
  /** Dispatches recorded since the last submit, while tracing. */
  private trace: DispatchRecord[] = [];
  /** Dispatches of the last submit, while tracing (empty otherwise). */
  lastTrace: readonly DispatchRecord[] = [];
  /**
   * Keep a record of every dispatch (`lastTrace`): off unless asked for (the demo's trace panel,
   * tests that look at which kernels ran), as a steady training step does not need it.
   */
  tracing = false;
  submits = 0;
  /** Compute dispatches recorded since the context was made (empty grids are not dispatched and not counted). */
  dispatches = 0;
  /** The adapter's maxStorageBufferBindingSize, read once: every tensor is checked against it. */
  readonly maxStorageBufferBindingSize: number;

  /** Waits sleep between polls (GpuContextOptions.gentleWaits, on a software adapter). */
  readonly gentleWaits: boolean;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** The pipeline the open pass has set last: a dispatch of the same one does not set it again. */
  private passPipeline: GPUComputePipeline | null = null;
  private readonly staging = new Map<number, GPUBuffer[]>();
  private readonly submitHooks = new Set<() => void>();
  /** The first WebGPU error not yet reported, with what we were doing when it happened. */
  private fault: string | null = null;
  private lostReason: string | null = null;
  /** Resolves with the reason if the device is lost (a driver reset, a GPU removed); never when we destroy it. */
  readonly lost: Promise<string>;
  private destroyed = false;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterDescription,
    options: GpuContextOptions = {},
  ) {
    this.gentleWaits = !!options.gentleWaits && adapter.software;
    this.pool = new BufferPool(device, undefined, (bytes, create) => this.scoped(`allocating a ${bytes}-byte GPU buffer`, create));
    this.pipelines = new PipelineCache(
      device,
      (name, create) => this.scoped(`compiling ${name}`, create),
      (compiled) => this.wait(compiled),
    );
    this.uniforms = new UniformCache(device);
    this.bindGroups = new BindGroupCache(device, (name, create) => this.scoped(`binding buffers for ${name}`, create));
    this.maxStorageBufferBindingSize = device.limits.maxStorageBufferBindingSize;
    this.placeholder = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE, label: 'placeholder' });
    device.addEventListener('uncapturederror', (event) => {
      const error = (event as GPUUncapturedErrorEvent).error;
      this.fault ??= `WebGPU ${error.constructor.name}: ${error.message}`;
    });
    this.lost = new Promise((resolve) => {
      void device.lost.then((info) => {
        if (this.destroyed) return;
        this.lostReason = `${info.reason}: ${info.message}`;
        resolve(this.lostReason);
      });
    });
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  get isLost(): boolean {
    return this.lostReason !== null;
  }

  /** Records one compute dispatch into the step's encoder. */
  dispatch(d: Dispatch): void {
    this.checkHealthy();
    const kernel = this.pipelines.entry(d.kernel);
    checkAliasing(kernel, d);
    const bindGroup = this.bindGroups.get(kernel.name, kernel.pipeline, this.uniforms.get(d.params, kernel), d.buffers);
    const [x, y = 1, z = 1] = d.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const pass = this.computePass();
    if (this.passPipeline !== kernel.pipeline) {
      pass.setPipeline(kernel.pipeline);
      this.passPipeline = kernel.pipeline;
    }
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.dispatches += 1;
    if (this.tracing) this.trace.push({ kernel: kernel.name, shapes: d.shapes, workgroups: [x, y, z] });
  }

  /** Records a copy of `bytes` from src (at srcOffset) to dst (at dstOffset); offsets and size are multiples of 4. */
  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number, srcOffset = 0, dstOffset = 0): void {
    this.checkHealthy();
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /**
   * Runs `hook` right before every submit, until the returned function is called: where a
   * recorder writes, in one `queue.writeBuffer`, data that the commands recorded since the last
   * submit read (the fused step's minibatch indices of several steps). A write runs before any
   * command buffer submitted after it.
   */
  beforeSubmit(hook: () => void): () => void {
    this.submitHooks.add(hook);
    return () => this.submitHooks.delete(hook);
  }

  /** Submits everything recorded since the last submit, as one command buffer. */
  submit(): void {
    this.checkHealthy();
    this.endPass();
    for (const hook of this.submitHooks) hook();
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
      this.submits += 1;
    }
    this.uniforms.retire();
    this.lastTrace = this.trace;
    this.trace = [];
    this.pool.recycle();
  }

  /** Submits pending work and copies `bytes` of `buffer` back to the CPU. */
  async read(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.takeStaging(size);
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(buffer, 0, staging, 0, size);
    this.submit();
    try {
      await this.wait(staging.mapAsync(GPUMapMode.READ, 0, size));
    } catch (cause) {
      this.checkHealthy();
      throw new GpuError(`reading back ${bytes} bytes failed: ${String(cause)}`);
    }
    const copy = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    this.returnStaging(staging);
    this.checkHealthy();
    return copy;
  }

  /** Waits until the GPU has finished everything submitted so far. */
  async finish(): Promise<void> {
    this.submit();
    await this.wait(this.device.queue.onSubmittedWorkDone());
    this.checkHealthy();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pass = null;
    this.encoder = null;
    this.bindGroups.clear();
    this.pool.destroy();
    this.uniforms.destroy();
    this.placeholder.destroy();
    for (const list of this.staging.values()) for (const b of list) b.destroy();
    this.staging.clear();
    this.device.destroy();
  }

  /**
   * Runs `create` inside validation and out-of-memory error scopes, so an error it causes is
   * reported with `what` (the kernel, the tensor) rather than as an anonymous device error.
   * Used on slow paths only (creating pipelines, bind groups, buffers): steady-state steps
   * create none of them.
   */
  scoped<R>(what: string, create: () => R): R {
    this.device.pushErrorScope('validation');
    this.device.pushErrorScope('out-of-memory');
    const result = create();
    const note = (error: GPUError | null) => {
      if (error) this.fault ??= `${what}: WebGPU ${error.constructor.name}: ${error.message}`;
    };
    void this.device.popErrorScope().then(note);
    void this.device.popErrorScope().then(note);
    return result;
  }

  private checkHealthy(): void {
    if (this.destroyed) throw new GpuError('the GPU device was destroyed; create a new one');
    if (this.lostReason) throw new GpuError(`the GPU device was lost (${this.lostReason})`);
    if (this.fault) {
      const fault = this.fault;
      this.fault = null;
      // What was recorded since the last submit may reference the failed object: drop it rather
      // than let the next submit fail again for the same cause.
      this.pass = null;
      this.passPipeline = null;
      this.encoder = null;
      this.trace = [];
      this.pool.recycle();
      throw new GpuError(fault);
    }
  }

  private wait<T>(pending: Promise<T>): Promise<T> {
    return this.gentleWaits ? pollGently(pending) : pending;
  }

  private commandEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) {
      this.pass = this.commandEncoder().beginComputePass();
      this.passPipeline = null;
    }
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
    this.passPipeline = null;
  }

  private takeStaging(size: number): GPUBuffer {
    return (
      this.staging.get(size)?.pop() ??
      this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'readback' })
    );
  }

  private returnStaging(buffer: GPUBuffer): void {
    const list = this.staging.get(buffer.size);
    if (list) list.push(buffer);
    else this.staging.set(buffer.size, [buffer]);
  }
}

/**
 * WebGPU forbids a buffer bound as a kernel's output from also being bound elsewhere in the
 * same dispatch; Dawn reports it only when the step is submitted, without saying which kernel.
 * Catching it here names the kernel. Output bindings are read from the WGSL source.
 */
function checkAliasing(kernel: KernelEntry, d: Dispatch): void {
  const buffers = d.buffers;
  // Outputs ascending: the first one bound twice is the one named, as a scan of the bindings finds it.
  for (const binding of kernel.outputs) {
    const i = binding - 1;
    const buffer = buffers[i];
    if (!buffer) continue;
    for (let j = 0; j < buffers.length; j++) {
      if (j !== i && buffers[j] === buffer) {
        throw new GpuError(`${kernel.name}: the same buffer is bound as output (binding ${i + 1}) and as binding ${j + 1}; an op cannot write in place into its own input`);
      }
    }
  }
}
