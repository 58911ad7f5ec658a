import type { AdapterDescription } from '../device/adapter-info.js';
import { SOFTWARE_BLOCK, type ElementBlock } from '../kernels/element-block.js';
import { defaultMatmulVariant, type MatmulVariant } from '../kernels/matmul.js';
import type { MlpVariant } from '../kernels/mlp-step.js';

/**
 * Which variant of each kernel family a GpuBackend runs. The variants compute the same values;
 * they differ in speed, and which is fastest depends on the adapter. Tests run every one.
 */
export interface KernelChoices {
  /** The dense matmul kernel (see the header of shaders/matmul.wgsl). */
  matmulVariant: MatmulVariant;
  /** Elements per invocation of the elementwise kernels (src/kernels/element-block.ts). */
  elementBlock: ElementBlock;
  /**
   * Products whose A is a data batch (MatmulArgs.data: a minibatch of images, mostly zeros)
   * skip its zero columns with the sparse kernels (shaders/sparse.wgsl).
   */
  sparseInputs: boolean;
  /**
   * The Trainer runs a fully connected net's step as the fused kernels (src/train/mlp-step.ts:
   * two dispatches instead of one or more per layer and direction) unless told otherwise: on
   * hardware GPUs, where it is faster; software adapters keep the layer-by-layer step.
   */
  fusedStep: boolean;
  /** The form of the fused step's kernels (shaders/mlp-step.wgsl's header): the same values either way. */
  fusedStepVariant: MlpVariant;
}

/** The choices for an adapter: the only place that looks at what kind of adapter runs the kernels. */
export function defaultKernelChoices(adapter: AdapterDescription): KernelChoices {
  return {
    matmulVariant: defaultMatmulVariant(adapter),
    // Eight elements per invocation halve the elementwise kernels' time on software adapters;
    // hardware wants neighbouring invocations on neighbouring elements (element-block.ts).
    elementBlock: adapter.software ? SOFTWARE_BLOCK : 1,
    // Measured faster on software adapters (first layer 6.2 → 3.9 ms on SwiftShader); hardware
    // keeps the dense tiled kernel until someone measures there.
    sparseInputs: adapter.software,
    // A real GPU's step costs its dispatches (20-35 µs of host time each), so fewer wins there.
    // On SwiftShader dispatches cost little and the two paths do about as many loads: with no
    // other work on the machine the layer-by-layer step was faster (npm start, eight interleaved
    // pairs: median step 1.25x, wall time in all eight, the fused kernels' compile included),
    // though under heavy load the fused one won (three pairs: 7.1/10.3/8.1 against
    // 13.7/10.9/12.8 ms a step). docs/performance.md has both.
    fusedStep: !adapter.software,
    // Register blocks written out and lists of nonzeros pay on SwiftShader (5-10x the hardware
    // form there); hardware wants the rows spread over workgroups and neighbouring lanes on
    // neighbouring memory.
    fusedStepVariant: adapter.software ? 'software' : 'hardware',
  };
}
