/** A compute pipeline is named by its shader, entry point and override constants. */
export interface KernelSpec {
  /** Family name shown in traces and error messages, e.g. 'matmul'. */
  family: string;
  /** WGSL source of the whole family file. */
  code: string;
  entryPoint: string;
  /** Distinguishes variants compiled from rewritten source of one family (e.g. block sizes). */
  variant?: string;
  constants?: Record<string, number | boolean>;
}

/** A kernel's name in traces and errors: family.entry, its variant and constants. */
export function kernelName(spec: KernelSpec): string {
  const c = spec.constants;
  const flags = c ? Object.entries(c).map(([k, v]) => `${k}=${Number(v)}`).join(',') : '';
  const name = spec.variant ? `${spec.family}.${spec.entryPoint}:${spec.variant}` : `${spec.family}.${spec.entryPoint}`;
  return flags ? `${name}[${flags}]` : name;
}

/** What a dispatch needs of its kernel, resolved once per pipeline (see PipelineCache.entry). */
export interface KernelEntry {
  /** kernelName of the spec. */
  readonly name: string;
  readonly pipeline: GPUComputePipeline;
  /** The storage bindings the kernel writes (declared read_write in its WGSL), ascending. */
  readonly outputs: readonly number[];
}

/**
 * One level of the lookup from a spec to its entry: by variant, then by each override constant
 * (name, then value) in the spec's own order. A path that ends holds the entry.
 */
interface SpecNode {
  entry?: KernelEntry;
  variants?: Map<string, SpecNode>;
  constants?: Map<string, Map<number, SpecNode>>;
}

/**
 * Compiles each pipeline once. `prepare` compiles a list asynchronously up front so the first
 * step neither stalls nor freezes a page; `get` compiles synchronously only what was missed.
 */
export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  /** Every compiled pipeline's entry, by kernelName. */
  private readonly entries = new Map<string, KernelEntry>();
  /**
   * Specs by their parts (code, entry point, variant, constants), so that a launcher's fresh
   * spec object finds its entry without building its name: kernelName is most of a warm
   * dispatch's JavaScript otherwise.
   */
  private readonly specs = new Map<string, Map<string, SpecNode>>();

  constructor(
    private readonly device: GPUDevice,
    /** Wraps synchronous creation so errors name the kernel (GpuContext.scoped). */
    private readonly guard: <R>(name: string, create: () => R) => R = (_, create) => create(),
    /** Wraps the wait for asynchronous compiles (GpuContext's gentle polling on a software adapter in Node). */
    private readonly wait: (compiled: Promise<void[]>) => Promise<unknown> = (compiled) => compiled,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(spec: KernelSpec): GPUComputePipeline {
    return this.entry(spec).pipeline;
  }

  /** The spec's name, pipeline (compiled now if `prepare` did not) and output bindings. */
  entry(spec: KernelSpec): KernelEntry {
    let node = this.specs.get(spec.code)?.get(spec.entryPoint);
    if (node && spec.variant !== undefined) node = node.variants?.get(spec.variant);
    const c = spec.constants;
    if (node && c) {
      for (const k in c) {
        node = node.constants?.get(k)?.get(Number(c[k]));
        if (!node) break;
      }
    }
    return node?.entry ?? this.insert(spec);
  }

  async prepare(specs: KernelSpec[]): Promise<void> {
    const compiled = Promise.all(
      specs.map(async (spec) => {
        const name = kernelName(spec);
        if (this.entries.has(name)) return;
        let pipeline: GPUComputePipeline;
        try {
          pipeline = await this.device.createComputePipelineAsync(this.descriptor(spec, name));
        } catch (e) {
          throw new Error(`compiling ${name}: ${(e as Error).message}`, { cause: e });
        }
        this.file(spec, name, pipeline);
      }),
    );
    await this.wait(compiled);
  }

  /** The slow path of `entry`: names the spec, compiles its pipeline if needed, files the path to it. */
  private insert(spec: KernelSpec): KernelEntry {
    const name = kernelName(spec);
    const entry = this.entries.get(name) ?? this.file(spec, name, this.guard(name, () => this.device.createComputePipeline(this.descriptor(spec, name))));
    let byEntry = this.specs.get(spec.code);
    if (!byEntry) this.specs.set(spec.code, (byEntry = new Map()));
    let node = byEntry.get(spec.entryPoint);
    if (!node) byEntry.set(spec.entryPoint, (node = {}));
    if (spec.variant !== undefined) node = child((node.variants ??= new Map()), spec.variant);
    const c = spec.constants;
    if (c) {
      for (const k in c) {
        const constants: Map<string, Map<number, SpecNode>> = (node.constants ??= new Map());
        let values: Map<number, SpecNode> | undefined = constants.get(k);
        if (!values) constants.set(k, (values = new Map()));
        node = child(values, Number(c[k]));
      }
    }
    node.entry = entry;
    return entry;
  }

  /** Files a compiled pipeline under its name, with what a dispatch needs of it. */
  private file(spec: KernelSpec, name: string, pipeline: GPUComputePipeline): KernelEntry {
    const entry = { name, pipeline, outputs: outputBindings(spec.code) };
    this.entries.set(name, entry);
    return entry;
  }

  private descriptor(spec: KernelSpec, name: string): GPUComputePipelineDescriptor {
    let module = this.modules.get(spec.code);
    if (!module) {
      module = this.device.createShaderModule({ code: spec.code, label: spec.family });
      this.modules.set(spec.code, module);
    }
    const constants = spec.constants
      ? Object.fromEntries(Object.entries(spec.constants).map(([k, v]) => [k, Number(v)]))
      : undefined;
    return { label: name, layout: 'auto', compute: { module, entryPoint: spec.entryPoint, constants } };
  }
}

function child<K>(map: Map<K, SpecNode>, key: K): SpecNode {
  let node = map.get(key);
  if (!node) map.set(key, (node = {}));
  return node;
}

/** The storage bindings a WGSL source declares read_write, ascending. */
function outputBindings(code: string): number[] {
  const found = [...code.matchAll(/@binding\((\d+)\)\s*var<storage,\s*read_write>/g)].map((m) => Number(m[1]));
  return [...new Set(found)].sort((a, b) => a - b);
}
