/// <reference types="@webgpu/types" />
/**
 * webgpu-backprop: the book's layers, nets, optimizers and training loop, written once against a
 * backend that records WebGPU dispatches (GpuBackend) or computes in plain TypeScript
 * (CpuBackend). This entry runs in browsers and in Node; `webgpu-backprop/node` adds what only
 * Node has (Dawn device discovery, MNIST from disk), `webgpu-backprop/kernels` the kernels one
 * level below the backends (GPU launchers and their CPU references).
 *
 * ```ts
 * import { CpuBackend, CpuDataset, SGD, Trainer, TwoLayerNet } from 'webgpu-backprop';
 * const backend = new CpuBackend('f32');
 * const net = new TwoLayerNet(backend, 784, 50, 10);
 * const trainer = new Trainer(net, new CpuDataset(backend, train), new CpuDataset(backend, test), new SGD(backend, 0.1));
 * const result = await trainer.run({ steps: 1000, batchSize: 100, seed: 42, readEvery: 50 });
 * ```
 *
 * Ch. 7's convnet is the same loop with `new SimpleConvNet(backend)` and `new Adam(backend, 0.001)`:
 * its first layer views each batch's flat 784-pixel rows as [batch, 1, 28, 28] images.
 * @packageDocumentation
 */

// Tensors
export type { Tensor } from './tensor/tensor.js';
export { CpuTensor, type CpuData } from './tensor/cpu-tensor.js';
export { GpuTensor, type GpuDType } from './tensor/gpu-tensor.js';
export { ShapeError, sizeOf, shapeStr, type Shape, type DType, type FloatDType } from './tensor/shape.js';

// Backends
export type { Backend } from './backend/backend.js';
export type { Activation, BatchNormHyper, ConvArgs, DataOperand, LayerKernels, MatmulArgs, MatmulOptions, OptimizerHyper, OptimizerKind, PoolArgs, RunningStats } from './backend/ops.js';
export { convGeometry, convOutputShape, poolGeometry, poolOutputShape, type ConvGeometry, type PoolGeometry } from './backend/geometry.js';
export { CpuBackend } from './backend/cpu-backend.js';
export { GpuBackend, type GpuBackendOptions, type MatmulForm } from './backend/gpu-backend.js';
export { defaultKernelChoices, type KernelChoices } from './backend/kernel-choices.js';
export { GpuContext, type GpuContextOptions, type Dispatch, type DispatchRecord } from './gpu/gpu-context.js';
export { kernelName, type KernelSpec, type PipelineCache } from './gpu/pipeline-cache.js';
export type { BufferPool, PoolStats } from './gpu/buffer-pool.js';
export type { BindGroupCache } from './gpu/bind-groups.js';
export type { UniformCache } from './gpu/uniforms.js';

// Devices
export { openBrowserGpu } from './device/discover-browser.js';
export { openDevice } from './device/open-device.js';
export { adapterLabel, describeAdapter, type AdapterDescription } from './device/adapter-info.js';
export { GpuError, NoAdapterError } from './device/errors.js';

// Layers and nets
export { preparesFor, type ForwardMode, type Layer, type LayerNeeds, type NamedTensor, type Param } from './nn/layer.js';
export { Affine, ParameterFreeLayer, Relu, Sigmoid, SoftmaxWithLoss, type ActivationLayer, type AffineOptions } from './nn/layers.js';
export { Sequential, type SequentialOptions } from './nn/sequential.js';
export { Convolution, Pooling, type ConvolutionOptions, type PoolingOptions } from './nn/conv-layers.js';
export { bookLayers, ConvReluPool, fuseConvReluPool } from './nn/conv-relu-pool.js';
export { DEEP_CONV_NET, DeepConvNet, SIMPLE_CONV_NET, SimpleConvNet, type DeepConvNetConfig, type ImageShape, type SimpleConvNetConfig } from './nn/conv-nets.js';
export { BatchNorm, type BatchNormOptions } from './nn/batch-norm.js';
export { Dropout, type DropoutOptions } from './nn/dropout.js';
export { gaussian, initStd, type WeightInit } from './nn/init.js';
export { DEFAULT_NET, MultiLayerNet, TwoLayerNet, type ActivationName, type NetConfig } from './nn/multi-layer-net.js';
export { encodeModel, loadModel, readOptimizerState, readTensors, saveModel, type ModelTensors } from './nn/model-file.js';
export { decodeSafetensors, encodeSafetensors, SafetensorsError, type DecodedSafetensors, type NamedTensor as StoredTensor } from './io/safetensors.js';

// Training
export {
  AdaGrad,
  Adam,
  createOptimizer,
  Momentum,
  Nesterov,
  OPTIMIZER_NAMES,
  RMSprop,
  SGD,
  USUAL_LR,
  usualLr,
  type Optimizer,
  type OptimizerName,
  type OptimizerState,
  type StatefulOptimizer,
  type FusableOptimizer,
  isFusable,
} from './train/optimizer.js';
export { FusedMlpStep, planFusedStep } from './train/mlp-step.js';
export {
  DivergenceError,
  Trainer,
  type Checkpoint,
  type EvalSets,
  type Model,
  type EpochResult,
  type TrainConfig,
  type TrainEvents,
  type TrainResult,
} from './train/trainer.js';
export { NO_TRACER, type StepPhase, type StepTracer } from './train/step-tracer.js';
export {
  createNet,
  describeNet,
  formatRunSetting,
  INIT_STD,
  MLP_ONLY_KEYS,
  NET_KINDS,
  NET_NAMES,
  netDefaults,
  type NetKind,
  isRunKey,
  netConfigOf,
  parseInteger,
  parseRunSetting,
  RUN_DEFAULTS,
  RUN_KEYS,
  runSettingsOf,
  SettingError,
  validRunSettings,
  type RunKey,
  type RunSettings,
} from './train/run-settings.js';
export { checkLearning, LEARNING_CHECK, type LearningEvidence, type LearningProblem } from './train/learning-check.js';
export { numericalGradient, numericalGradients, type LossModel } from './train/numerical-gradient.js';
export { backpropGradients, compareGradients, largestValue, type GradientDiff } from './train/gradient-check.js';

// Data
export type { Dataset } from './data/dataset.js';
export { CpuDataset } from './data/cpu-dataset.js';
export { GpuDataset } from './data/gpu-dataset.js';
export { Rng, sampleIndices } from './data/rng.js';
export { IdxError, parseIdx, parseIdxImages, parseIdxLabels, type IdxArray, type IdxImages } from './data/idx.js';
export {
  buildMnist,
  MNIST_CLASSES,
  MNIST_COLS,
  MNIST_FILES,
  MNIST_ROWS,
  normalizePixels,
  sliceSplit,
  type Mnist,
  type MnistFileKey, type MnistFiles,
  type MnistSplit,
} from './data/mnist.js';
export { fetchMnist, type ProgressCallback } from './data/fetch-mnist.js';

// The book's ch. 6 experiments, on any backend
export { INIT_RUNS, INIT_SETUP, initActivations, type InitRun, type LayerStats } from './experiments/init-activations.js';
export {
  COMPARED,
  compareOptimizers,
  finalLevel,
  type ComparisonOptions,
  type OptimizerComparisonResult,
  type OptimizerCurve,
} from './experiments/optimizer-comparison.js';
export {
  finalGap,
  OVERFIT_RUNS,
  OVERFIT_SETUP,
  overfitting,
  type OverfitCurve,
  type OverfitOptions,
  type OverfitRun,
  type OverfittingResult,
} from './experiments/overfitting.js';
