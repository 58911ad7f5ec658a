/**
 * Bind groups cached by pipeline and buffers. The pool hands a training step the same buffers
 * every time, so from the second step on every dispatch finds its bind group here instead of
 * creating one (creation is most of the CPU cost of recording a dispatch).
 */
export class BindGroupCache {
  private readonly groups = new Map<string, GPUBindGroup>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  hits = 0;
  misses = 0;

  /** Past this many entries the cache starts over: shapes that come and go must not grow it without end. */
  static readonly LIMIT = 4096;

  constructor(
    private readonly device: GPUDevice,
    /** Wraps creation so errors name the kernel (GpuContext.scoped). */
    private readonly guard: <R>(name: string, create: () => R) => R = (_, create) => create(),
  ) {}

  get size(): number {
    return this.groups.size;
  }

  get(label: string, pipeline: GPUComputePipeline, entries: readonly (GPUBuffer | undefined)[]): GPUBindGroup {
    let key = `${this.id(pipeline)}`;
    for (const buffer of entries) key += buffer ? `,${this.id(buffer)}` : ',-';
    let group = this.groups.get(key);
    if (group) {
      this.hits += 1;
      return group;
    }
    this.misses += 1;
    if (this.groups.size >= BindGroupCache.LIMIT) this.groups.clear();
    const bindings: GPUBindGroupEntry[] = [];
    entries.forEach((buffer, binding) => {
      if (buffer) bindings.push({ binding, resource: { buffer } });
    });
    group = this.guard(label, () => this.device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries: bindings }));
    this.groups.set(key, group);
    return group;
  }

  /** Forgets every group that names a buffer about to be destroyed (all of them: simplest and rare). */
  clear(): void {
    this.groups.clear();
  }

  private id(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(o, id);
    }
    return id;
  }
}
