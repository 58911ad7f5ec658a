/** One level of the lookup from a pipeline and its buffers to their bind group. */
interface GroupNode {
  next?: Map<object, GroupNode>;
  group?: GPUBindGroup;
}

/** Stands for an unused binding (a hole in the buffer list) in the lookup. */
const HOLE = {};

/**
 * Bind groups cached by pipeline and buffers. The pool hands a training step the same buffers
 * every time, so from the second step on every dispatch finds its bind group here instead of
 * creating one (creation is most of the CPU cost of recording a dispatch). The lookup goes
 * through one map per binding, keyed by the buffer objects themselves: no key is built.
 */
export class BindGroupCache {
  private groups = new Map<object, GroupNode>();
  private count = 0;
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
    return this.count;
  }

  /**
   * The group binding `uniform` at binding 0 and `buffers` at bindings 1, 2, … (undefined:
   * unused) for `pipeline`; `label` names the kernel in errors.
   */
  get(label: string, pipeline: GPUComputePipeline, uniform: GPUBuffer, buffers: readonly (GPUBuffer | undefined)[]): GPUBindGroup {
    let node: GroupNode | undefined = this.groups.get(pipeline);
    if (!node) this.groups.set(pipeline, (node = {}));
    node = step(node, uniform);
    for (let i = 0; i < buffers.length; i++) node = step(node, buffers[i] ?? HOLE);
    if (node.group) {
      this.hits += 1;
      return node.group;
    }
    if (this.count >= BindGroupCache.LIMIT) {
      this.clear();
      return this.get(label, pipeline, uniform, buffers);
    }
    this.misses += 1;
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniform } }];
    buffers.forEach((buffer, i) => {
      if (buffer) entries.push({ binding: i + 1, resource: { buffer } });
    });
    const group = this.guard(label, () => this.device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries }));
    node.group = group;
    this.count += 1;
    return group;
  }

  /** Forgets every group that names a buffer about to be destroyed (all of them: simplest and rare). */
  clear(): void {
    this.groups = new Map();
    this.count = 0;
  }
}

function step(node: GroupNode, key: object): GroupNode {
  let next = node.next?.get(key);
  if (!next) (node.next ??= new Map()).set(key, (next = {}));
  return next;
}
