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

/**
 * Compiles each pipeline once. `prepare` compiles a list asynchronously up front so the first
 * step neither stalls nor freezes a page; `get` compiles synchronously only what was missed.
 */
export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(
    private readonly device: GPUDevice,
    /** Wraps synchronous creation so errors name the kernel (GpuContext.scoped). */
    private readonly guard: <R>(name: string, create: () => R) => R = (_, create) => create(),
  ) {}

  get size(): number {
    return this.pipelines.size;
  }

  get(spec: KernelSpec): GPUComputePipeline {
    const name = kernelName(spec);
    let pipeline = this.pipelines.get(name);
    if (!pipeline) {
      pipeline = this.guard(name, () => this.device.createComputePipeline(this.descriptor(spec, name)));
      this.pipelines.set(name, pipeline);
    }
    return pipeline;
  }

  async prepare(specs: KernelSpec[]): Promise<void> {
    await Promise.all(
      specs.map(async (spec) => {
        const name = kernelName(spec);
        if (this.pipelines.has(name)) return;
        let pipeline: GPUComputePipeline;
        try {
          pipeline = await this.device.createComputePipelineAsync(this.descriptor(spec, name));
        } catch (e) {
          throw new Error(`compiling ${name}: ${(e as Error).message}`, { cause: e });
        }
        this.pipelines.set(name, pipeline);
      }),
    );
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
