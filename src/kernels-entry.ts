/**
 * webgpu-backprop/kernels: the kernel families one level below the backends, for writing an op
 * of your own or timing one kernel alone. Each family has GPU launchers (`…Gpu`: record one
 * dispatch into a GpuContext's current step; nothing waits), CPU references (`…Cpu`: the same
 * arithmetic in plain TypeScript, which the tests hold each GPU kernel to) and the KernelSpecs of
 * its pipelines, to compile up front with `ctx.pipelines.prepare`.
 *
 * ```ts
 * import { GpuTensor, openBrowserGpu } from 'webgpu-backprop';
 * import { defaultMatmulVariant, matmulGpu } from 'webgpu-backprop/kernels';
 * const ctx = await openBrowserGpu();
 * const [a, b, c] = [[100, 784], [784, 50], [100, 50]].map((shape) => GpuTensor.empty(ctx, shape));
 * matmulGpu(ctx, a, b, undefined, c, { activation: 'relu' }, defaultMatmulVariant(ctx.adapter));
 * const product = await c.read(); // submits the recorded dispatch and waits for it
 * ```
 * @packageDocumentation
 */

// Naming and launching a pipeline
export { kernelName, type KernelSpec } from './gpu/pipeline-cache.js';
export type { Dispatch } from './gpu/gpu-context.js';
export { SOFTWARE_BLOCK, type ElementBlock } from './kernels/element-block.js';

// Dense products
export {
  defaultMatmulVariant,
  MATMUL_VARIANTS,
  matmulCpu,
  matmulDims,
  matmulGpu,
  matmulKernel,
  type MatmulDims,
  type MatmulVariant,
} from './kernels/matmul.js';

// Sparse x dense products, for inputs that are mostly zeros
export {
  imageStripOrder,
  SPARSE_TILING,
  sparseCompressCpu,
  sparseCompressGpu,
  sparseCompressKernel,
  sparseListsShape,
  sparseListsTensor,
  sparseMatmulCpu,
  sparseMatmulGpu,
  sparseMatmulKernel,
  sparseTrainingKernels,
  type SparseOptions,
  type SparseOrder,
  type SparseTiling,
} from './kernels/sparse.js';

// Elementwise activations
export {
  activationGpu,
  activationKernel,
  activationKernels,
  reluBackwardCpu,
  reluForwardCpu,
  sigmoidBackwardCpu,
  sigmoidForwardCpu,
  type ActivationEntry,
} from './kernels/activations.js';

// Softmax and cross-entropy
export {
  SOFTMAX_KERNELS,
  softmaxCpu,
  softmaxGpu,
  softmaxKernel,
  XENT_DELTA,
  xentBackwardCpu,
  xentBackwardGpu,
  xentCpu,
  xentGpu,
  type Labels,
  type SoftmaxEntry,
} from './kernels/softmax.js';

// Reductions: sums, column sums, argmax, correct predictions
export {
  argmaxCpu,
  argmaxGpu,
  columnSumCpu,
  columnSumGpu,
  correctGpu,
  countCorrectCpu,
  REDUCE_KERNELS,
  reduceKernel,
  storeScalarGpu,
  sumCpu,
  sumGpu,
  SUM_SQUARES_KERNEL,
  sumSquaresGpu,
  type ReduceEntry,
} from './kernels/reduce.js';

// Batch normalization
export {
  BATCHNORM_DEFAULTS,
  BATCHNORM_KERNELS,
  batchNormBackwardCpu,
  batchNormBackwardGpu,
  batchNormInferenceCpu,
  batchNormInferenceGpu,
  batchNormKernel,
  batchNormTrainCpu,
  batchNormTrainGpu,
  type BatchNormEntry,
} from './kernels/batchnorm.js';

// Dropout
export {
  dropoutBackwardCpu,
  dropoutBackwardGpu,
  dropoutForwardCpu,
  dropoutForwardGpu,
  dropoutInferenceCpu,
  dropoutInferenceGpu,
  dropoutKernel,
  dropoutKernels,
  dropoutSeed,
  type DropoutEntry,
} from './kernels/dropout.js';

// Parameter updates
export {
  adamLrT,
  OPTIMIZER_EPS,
  OPTIMIZER_KINDS,
  OPTIMIZER_SPEC,
  optimizerCpu,
  optimizerGpu,
  optimizerKernel,
  optimizerKernels,
  sgdCpu,
  sgdGpu,
  sgdKernel,
} from './kernels/optimizers.js';

// Gathering a minibatch's rows from the dataset
export { GATHER_KERNELS, gatherCpu, gatherGpu } from './kernels/gather.js';

// Convolution (ch. 7): forward, filter gradient in two passes, data gradient; the book's im2col
export {
  col2imCpu,
  CONV_CHUNK_POSITIONS,
  convBackwardDataCpu,
  convBackwardDataGpu,
  convBackwardFilterCpu,
  convBackwardFilterGpu,
  convForwardCpu,
  convForwardGpu,
  convKernel,
  convKernels,
  convRowSpansGpu,
  convRowsPerChunk,
  im2colCpu,
  type ConvEntry,
} from './kernels/conv.js';

// The Conv → Relu → Pool block fused: forward to the pooled output, filter gradient from it
export {
  CONV_POOL_CHUNK_POSITIONS,
  convPoolBackwardFilterCpu,
  convPoolBackwardFilterGpu,
  convPoolForwardEntry,
  convPoolKernel,
  convPoolKernels,
  convPoolRowsPerChunk,
  convReluPoolForwardCpu,
  convReluPoolForwardGpu,
  type ConvPoolEntry,
} from './kernels/conv-pool.js';

// A fully connected net's whole training step in two dispatches (src/train/mlp-step.ts runs it)
export {
  MLP_MAX_LAYERS,
  MLP_MAX_WIDTH,
  MLP_SOFTWARE_TILING,
  mlpTilingName,
  mlpGradientCpu,
  mlpLayout,
  mlpRowsGpu,
  mlpRowsKernel,
  mlpStepCpu,
  mlpUpdateGpu,
  mlpUpdateKernel,
  type MlpActivation,
  type MlpData,
  type MlpLayerLayout,
  type MlpLayout,
  type MlpLayoutOptions,
  type MlpTiling,
  type MlpVariant,
  type MlpRule,
  type MlpStepResult,
} from './kernels/mlp-step.js';

// Max pooling (ch. 7): forward with the argmax, backward through it
export {
  maxPoolBackwardCpu,
  maxPoolBackwardGpu,
  maxPoolForwardCpu,
  maxPoolForwardGpu,
  POOL_NONE,
  poolingEntries,
  poolingKernel,
  POOLING_KERNELS,
  type PoolingEntry,
} from './kernels/pooling.js';
