import type { GpuContext } from '../gpu/gpu-context.js';
import { GATHER_KERNELS } from '../kernels/gather.js';
import { BATCHNORM_KERNELS, batchNormBackwardGpu, batchNormInferenceGpu, batchNormTrainGpu } from '../kernels/batchnorm.js';
import { dropoutBackwardGpu, dropoutForwardGpu, dropoutInferenceGpu, dropoutKernels } from '../kernels/dropout.js';
import { imageStripOrder, sparseCompressGpu, sparseListsTensor, sparseMatmulGpu, sparseTrainingKernels } from '../kernels/sparse.js';
import { activationGpu, activationKernels } from '../kernels/activations.js';
import { matmulGpu, matmulKernel } from '../kernels/matmul.js';
import { optimizerGpu, optimizerKernels, sgdGpu } from '../kernels/optimizers.js';
import { argmaxGpu, columnSumGpu, correctGpu, REDUCE_KERNELS, storeScalarGpu, sumGpu, sumSquaresGpu, SUM_SQUARES_KERNEL } from '../kernels/reduce.js';
import { softmaxGpu, SOFTMAX_KERNELS, xentBackwardGpu, xentGpu } from '../kernels/softmax.js';
import { GpuTensor } from '../tensor/gpu-tensor.js';
import type { Shape } from '../tensor/shape.js';
import type { Backend } from './backend.js';
import { defaultKernelChoices, type KernelChoices } from './kernel-choices.js';
import type { BatchNormHyper, ConvArgs, DataOperand, LayerKernels, PoolArgs, MatmulArgs, MatmulOptions, OptimizerHyper, OptimizerKind, RunningStats } from './ops.js';
import { checkConv, checkConvPool, checkPool } from './checks.js';
import { convOutputShape, poolOutputShape, type ConvGeometry } from './geometry.js';
import { convBackwardDataGpu, convBackwardFilterGpu, convForwardGpu, convKernels, convRowSpansGpu } from '../kernels/conv.js';
import { maxPoolBackwardGpu, maxPoolForwardGpu, POOLING_KERNELS } from '../kernels/pooling.js';
import { convPoolBackwardFilterGpu, convPoolKernels, convReluPoolForwardGpu } from '../kernels/conv-pool.js';
import { checkBatchNorm, checkBatchNormHyper, checkDropout, checkFinite, checkIndices, checkOptimizer, checkSlot, checkLabels, checkMatmul, checkMatrix, checkSame, checkSize } from './checks.js';
import { adapterLabel } from '../device/adapter-info.js';

/** A matmul as a pipeline sees it: transposes, fused bias, activation. */
export type MatmulForm = MatmulOptions & { bias?: boolean };

const TRAINING_MATMULS: MatmulForm[] = [{ bias: true }, { transA: true }, { transB: true }];

/** Kernel choices that override the adapter's defaults (defaultKernelChoices), e.g. a test's. */
export type GpuBackendOptions = Partial<KernelChoices>;

/**
 * Records every op into the context's command encoder; nothing waits for the GPU until `read`.
 * Outputs come from the buffer pool, so a step that disposes what it no longer needs allocates
 * nothing after the first step.
 */
export class GpuBackend implements Backend<GpuTensor> {
  readonly device = 'gpu' as const;
  readonly label: string;
  /** The kernel variants this backend dispatches. */
  readonly kernels: Readonly<KernelChoices>;
  /** The data batch whose lists were compressed last, and those lists (see `sparseLists`). */
  private compressed: { x: GpuTensor; lists: GpuTensor } | undefined;
  /** The data batch whose image rows were spanned last, and those spans (see `rowSpans`). */
  private spanned: { x: GpuTensor; spans: GpuTensor } | undefined;
  /** Pixel orders by image shape (see imageStripOrder), uploaded once. */
  private readonly orders = new Map<string, GpuTensor>();

  constructor(
    readonly ctx: GpuContext,
    options: GpuBackendOptions = {},
  ) {
    const defaults = defaultKernelChoices(ctx.adapter);
    this.kernels = {
      matmulVariant: options.matmulVariant ?? defaults.matmulVariant,
      elementBlock: options.elementBlock ?? defaults.elementBlock,
      sparseInputs: options.sparseInputs ?? defaults.sparseInputs,
      fusedStep: options.fusedStep ?? defaults.fusedStep,
      fusedStepVariant: options.fusedStepVariant ?? defaults.fusedStepVariant,
    };
    this.label = adapterLabel(ctx.adapter);
  }

  /**
   * The lists of x's nonzero columns (and rows), compressed on first use and shared by every
   * later product with the same x: a training step's x·W1 and xᵀ·dout compress once. The
   * previous batch's lists go back to the pool, which reuses them only after the submit.
   */
  private sparseLists(x: GpuTensor, order: GpuTensor | undefined): GpuTensor {
    if (this.compressed?.x === x) return this.compressed.lists;
    this.compressed?.lists.dispose();
    const lists = sparseListsTensor(this.ctx, x);
    sparseCompressGpu(this.ctx, x, lists, { order });
    this.compressed = { x, lists };
    return lists;
  }

  /**
   * A data batch's nonzero column span per image row, found on first use and shared by the
   * forward and the filter gradient of its first conv layer, as the sparse lists are; undefined
   * where the conv kernels do not skip (not data, or a hardware adapter).
   */
  private rowSpans(x: GpuTensor, g: ConvGeometry, args: ConvArgs): GpuTensor | undefined {
    if (!args.data || !this.kernels.sparseInputs) return undefined;
    if (this.spanned?.x === x) return this.spanned.spans;
    this.spanned?.spans.dispose();
    this.spanned = { x, spans: convRowSpansGpu(this.ctx, g, x) };
    return this.spanned.spans;
  }

  /** The pixel order of A's columns, when `data` names an image they fill exactly. */
  private pixelOrder(a: GpuTensor, { image }: DataOperand): GpuTensor | undefined {
    if (!image || image[0] * image[1] !== a.shape[1]) return undefined;
    const key = image.join('x');
    let order = this.orders.get(key);
    if (!order) {
      order = GpuTensor.from(this.ctx, imageStripOrder(image[0], image[1]), [image[0] * image[1]], 'u32');
      this.orders.set(key, order);
    }
    return order;
  }

  /**
   * Compiles, asynchronously and before the first step, the pipelines a training step uses:
   * every non-matmul kernel and the matmuls of an MLP (forward with bias, xᵀ·dy, dy·Wᵀ), plus
   * any `extra` matmul forms. Other matmul forms compile on first use. (On a software adapter an
   * unrolled matmul pipeline takes seconds to compile, so compiling all 24 forms would not do.)
   */
  async prepare(extra: MatmulForm[] = [], layers: LayerKernels = {}): Promise<void> {
    const { matmulVariant, elementBlock, sparseInputs } = this.kernels;
    const matmuls = [...TRAINING_MATMULS, ...extra].map((f) => matmulKernel(matmulVariant, f, !!f.bias));
    await this.ctx.pipelines.prepare([
      ...matmuls,
      ...activationKernels(elementBlock),
      ...SOFTMAX_KERNELS,
      ...REDUCE_KERNELS,
      SUM_SQUARES_KERNEL,
      ...GATHER_KERNELS,
      ...optimizerKernels(elementBlock),
      ...(layers.dropout ? dropoutKernels(elementBlock) : []),
      ...(layers.batchNorm ? BATCHNORM_KERNELS : []),
      ...(layers.conv ? convKernels(sparseInputs) : []),
      ...(layers.pooling ? POOLING_KERNELS : []),
      ...(layers.convPool ? convPoolKernels(sparseInputs) : []),
      // The first layer's products with a data batch (MNIST's image order).
      ...(sparseInputs ? sparseTrainingKernels('none', true) : []),
    ]);
  }

  private empty(shape: Shape, dtype: 'f32' | 'u32' = 'f32'): GpuTensor {
    return GpuTensor.empty(this.ctx, shape, dtype);
  }

  private own(t: GpuTensor): GpuTensor {
    if (t.ctx !== this.ctx) throw new Error('tensor belongs to another GPU device');
    return t;
  }

  fromArray(data: ArrayLike<number>, shape: Shape): GpuTensor {
    checkSize(data, shape, 'fromArray');
    return GpuTensor.from(this.ctx, data, shape, 'f32');
  }

  labels(indices: ArrayLike<number>, classes: number): GpuTensor {
    checkIndices(indices, classes);
    return GpuTensor.from(this.ctx, indices, [indices.length], 'u32');
  }

  zeros(shape: Shape): GpuTensor {
    const t = this.empty(shape);
    t.write(new Float32Array(t.size));
    return t;
  }

  write(t: GpuTensor, data: ArrayLike<number>): void {
    checkSize(data, t.shape, 'write');
    t.write(data);
    this.forgetLists(t);
  }

  /** New values in a data tensor make what was derived from it stale. */
  private forgetLists(t: GpuTensor): void {
    if (this.compressed?.x === t) {
      this.compressed.lists.dispose();
      this.compressed = undefined;
    }
    if (this.spanned?.x === t) {
      this.spanned.spans.dispose();
      this.spanned = undefined;
    }
  }

  read(t: GpuTensor): Promise<Float32Array | Uint32Array> {
    return this.own(t).read();
  }

  dispose(...tensors: (GpuTensor | undefined)[]): void {
    for (const t of tensors) t?.dispose();
  }

  reshape(x: GpuTensor, shape: Shape): GpuTensor {
    return this.own(x).view(shape);
  }

  matmul(a: GpuTensor, b: GpuTensor, args: MatmulArgs = {}): GpuTensor {
    const bias = args.bias as GpuTensor | undefined;
    const d = checkMatmul(a, b, bias, args);
    const c = this.empty([d.M, d.N]);
    if (args.data && this.kernels.sparseInputs && !args.transB) {
      const order = this.pixelOrder(a, args.data);
      const lists = this.sparseLists(this.own(a), order);
      sparseMatmulGpu(this.ctx, a, lists, this.own(b), bias && this.own(bias), c, { transA: args.transA, activation: args.activation, order });
    } else {
      matmulGpu(this.ctx, this.own(a), this.own(b), bias && this.own(bias), c, args, this.kernels.matmulVariant);
    }
    return c;
  }

  reluForward(x: GpuTensor) {
    const y = this.empty(x.shape);
    const mask = this.empty(x.shape);
    activationGpu(this.ctx, this.kernels.elementBlock, 'relu_forward', this.own(x), undefined, y, mask);
    return { y, mask };
  }

  reluBackward(dy: GpuTensor, mask: GpuTensor): GpuTensor {
    checkSame(dy, mask, 'reluBackward', ['dy', 'mask']);
    const dx = this.empty(dy.shape);
    activationGpu(this.ctx, this.kernels.elementBlock, 'relu_backward', this.own(dy), this.own(mask), dx);
    return dx;
  }

  sigmoidForward(x: GpuTensor): GpuTensor {
    const y = this.empty(x.shape);
    activationGpu(this.ctx, this.kernels.elementBlock, 'sigmoid_forward', this.own(x), undefined, y);
    return y;
  }

  sigmoidBackward(dy: GpuTensor, y: GpuTensor): GpuTensor {
    checkSame(dy, y, 'sigmoidBackward', ['dy', 'y']);
    const dx = this.empty(dy.shape);
    activationGpu(this.ctx, this.kernels.elementBlock, 'sigmoid_backward', this.own(dy), this.own(y), dx);
    return dx;
  }

  dropoutForward(x: GpuTensor, ratio: number, seed: number) {
    checkDropout(ratio, seed);
    const y = this.empty(x.shape);
    const mask = this.empty(x.shape);
    dropoutForwardGpu(this.ctx, this.kernels.elementBlock, this.own(x), y, mask, seed, ratio);
    return { y, mask };
  }

  dropoutInference(x: GpuTensor, ratio: number): GpuTensor {
    checkDropout(ratio);
    const y = this.empty(x.shape);
    dropoutInferenceGpu(this.ctx, this.kernels.elementBlock, this.own(x), y, ratio);
    return y;
  }

  dropoutBackward(dy: GpuTensor, mask: GpuTensor): GpuTensor {
    checkSame(dy, mask, 'dropoutBackward', ['dy', 'mask']);
    const dx = this.empty(dy.shape);
    dropoutBackwardGpu(this.ctx, this.kernels.elementBlock, this.own(dy), this.own(mask), dx);
    return dx;
  }

  batchNormTrain(x: GpuTensor, gamma: GpuTensor, beta: GpuTensor, running: RunningStats<GpuTensor>, hyper: BatchNormHyper) {
    const [, cols] = checkBatchNorm(x, { gamma, beta, 'running mean': running.mean, 'running variance': running.variance }, true);
    checkBatchNormHyper(hyper);
    const out = { y: this.empty(x.shape), xn: this.empty(x.shape), invStd: this.empty([cols]) };
    const stats = { mean: this.own(running.mean), variance: this.own(running.variance) };
    batchNormTrainGpu(this.ctx, this.own(x), this.own(gamma), this.own(beta), stats, out, hyper);
    return out;
  }

  batchNormInference(x: GpuTensor, gamma: GpuTensor, beta: GpuTensor, running: RunningStats<GpuTensor>, hyper: BatchNormHyper): GpuTensor {
    checkBatchNorm(x, { gamma, beta, 'running mean': running.mean, 'running variance': running.variance }, false);
    checkBatchNormHyper(hyper);
    const y = this.empty(x.shape);
    const stats = { mean: this.own(running.mean), variance: this.own(running.variance) };
    batchNormInferenceGpu(this.ctx, this.own(x), this.own(gamma), this.own(beta), stats, y, hyper);
    return y;
  }

  batchNormBackward(dy: GpuTensor, xn: GpuTensor, invStd: GpuTensor, gamma: GpuTensor) {
    checkSame(dy, xn, 'batchNormBackward', ['dy', 'xn']);
    const [, cols] = checkBatchNorm(dy, { '1/std': invStd, gamma }, false);
    const out = { dx: this.empty(dy.shape), dgamma: this.empty([cols]), dbeta: this.empty([cols]) };
    batchNormBackwardGpu(this.ctx, this.own(dy), this.own(xn), this.own(invStd), this.own(gamma), out);
    return out;
  }

  convForward(x: GpuTensor, w: GpuTensor, b: GpuTensor, args: ConvArgs = {}): GpuTensor {
    const g = checkConv('convForward', x.shape, w, args, { b });
    const y = this.empty(convOutputShape(g));
    convForwardGpu(this.ctx, g, this.own(x), this.own(w), this.own(b), y, this.rowSpans(x, g, args));
    return y;
  }

  convBackwardFilter(dout: GpuTensor, x: GpuTensor, w: GpuTensor, args: ConvArgs = {}) {
    const g = checkConv('convBackwardFilter', x.shape, w, args, { dout });
    const out = { dw: this.empty(w.shape), db: this.empty([g.filters]) };
    convBackwardFilterGpu(this.ctx, g, this.own(dout), this.own(x), out.dw, out.db, this.rowSpans(x, g, args));
    return out;
  }

  convBackwardData(dout: GpuTensor, w: GpuTensor, xShape: Shape, args: ConvArgs = {}): GpuTensor {
    const g = checkConv('convBackwardData', xShape, w, args, { dout });
    const dx = this.empty(xShape);
    convBackwardDataGpu(this.ctx, g, this.own(dout), this.own(w), dx);
    return dx;
  }

  maxPoolForward(x: GpuTensor, args: PoolArgs) {
    const g = checkPool('maxPoolForward', x.shape, args, {});
    const out = { y: this.empty(poolOutputShape(g)), argmax: this.empty(poolOutputShape(g), 'u32') };
    maxPoolForwardGpu(this.ctx, g, this.own(x), out.y, out.argmax);
    return out;
  }

  maxPoolBackward(dy: GpuTensor, argmax: GpuTensor, xShape: Shape, args: PoolArgs): GpuTensor {
    const g = checkPool('maxPoolBackward', xShape, args, { dy, argmax });
    const dx = this.empty(xShape);
    maxPoolBackwardGpu(this.ctx, g, this.own(dy), this.own(argmax), dx);
    return dx;
  }

  convReluPoolForward(x: GpuTensor, w: GpuTensor, b: GpuTensor, conv: ConvArgs, pool: PoolArgs) {
    const { cg, pg } = checkConvPool('convReluPoolForward', x.shape, w, conv, pool, { b });
    const out = { y: this.empty(poolOutputShape(pg)), argmax: this.empty(poolOutputShape(pg), 'u32') };
    convReluPoolForwardGpu(this.ctx, cg, pg, this.own(x), this.own(w), this.own(b), out.y, out.argmax, this.rowSpans(x, cg, conv));
    return out;
  }

  convPoolBackwardFilter(dy: GpuTensor, argmax: GpuTensor, x: GpuTensor, w: GpuTensor, conv: ConvArgs, pool: PoolArgs) {
    const { cg, pg } = checkConvPool('convPoolBackwardFilter', x.shape, w, conv, pool, { dy, argmax });
    const out = { dw: this.empty(w.shape), db: this.empty([cg.filters]) };
    convPoolBackwardFilterGpu(this.ctx, cg, pg, this.own(dy), this.own(argmax), this.own(x), out.dw, out.db);
    return out;
  }

  softmax(x: GpuTensor): GpuTensor {
    checkMatrix(x, 'softmax');
    const y = this.empty(x.shape);
    softmaxGpu(this.ctx, this.own(x), y);
    return y;
  }

  softmaxCrossEntropy(logits: GpuTensor, labels: GpuTensor) {
    checkLabels(logits, labels, 'softmaxCrossEntropy');
    const rows = logits.shape[0]!;
    const probs = this.empty(logits.shape);
    const rowLoss = this.empty([rows]);
    xentGpu(this.ctx, this.own(logits), this.own(labels), probs, rowLoss);
    const loss = this.empty([]);
    sumGpu(this.ctx, rowLoss, loss, rows === 0 ? 0 : 1 / rows);
    rowLoss.dispose();
    return { probs, loss };
  }

  softmaxCrossEntropyBackward(probs: GpuTensor, labels: GpuTensor): GpuTensor {
    checkLabels(probs, labels, 'softmaxCrossEntropyBackward');
    const dx = this.empty(probs.shape);
    xentBackwardGpu(this.ctx, this.own(probs), this.own(labels), dx);
    return dx;
  }

  sumColumns(x: GpuTensor): GpuTensor {
    const [, cols] = checkMatrix(x, 'sumColumns');
    const out = this.empty([cols]);
    columnSumGpu(this.ctx, this.own(x), out);
    return out;
  }

  sum(x: GpuTensor): GpuTensor {
    const out = this.empty([]);
    sumGpu(this.ctx, this.own(x), out, 1);
    return out;
  }

  sumSquares(x: GpuTensor): GpuTensor {
    const out = this.empty([]);
    sumSquaresGpu(this.ctx, this.own(x), out);
    return out;
  }

  addScaled(target: GpuTensor, source: GpuTensor, alpha: number): void {
    checkSame(target, source, 'addScaled', ['target', 'source']);
    checkFinite(alpha, 'addScaled: alpha');
    // The SGD kernel with lr = -alpha is exactly target += alpha·source.
    sgdGpu(this.ctx, this.kernels.elementBlock, this.own(target), this.own(source), -alpha);
  }

  mean(x: GpuTensor): GpuTensor {
    const out = this.empty([]);
    sumGpu(this.ctx, this.own(x), out, x.size === 0 ? NaN : 1 / x.size);
    return out;
  }

  argmax(x: GpuTensor): GpuTensor {
    const [rows] = checkMatrix(x, 'argmax');
    const out = this.empty([rows], 'u32');
    argmaxGpu(this.ctx, this.own(x), out);
    return out;
  }

  countCorrect(scores: GpuTensor, labels: GpuTensor): GpuTensor {
    checkLabels(scores, labels, 'countCorrect');
    const rows = scores.shape[0]!;
    const flags = this.empty([rows]);
    correctGpu(this.ctx, this.own(scores), this.own(labels), flags);
    const out = this.empty([]);
    sumGpu(this.ctx, flags, out, 1);
    flags.dispose();
    return out;
  }

  copy(src: GpuTensor, dst: GpuTensor): void {
    checkSame(src, dst, 'copy', ['src', 'dst']);
    this.ctx.copy(this.own(src).buffer, this.own(dst).buffer, src.size * 4);
    this.forgetLists(dst);
  }

  storeScalar(src: GpuTensor, dst: GpuTensor, index: number): void {
    checkSlot(dst, index);
    storeScalarGpu(this.ctx, this.own(src), this.own(dst), index);
  }

  sgdUpdate(param: GpuTensor, grad: GpuTensor, lr: number): void {
    checkSame(param, grad, 'sgdUpdate', ['param', 'grad']);
    checkFinite(lr, 'sgdUpdate: learning rate');
    sgdGpu(this.ctx, this.kernels.elementBlock, this.own(param), this.own(grad), lr);
  }

  optimizerUpdate(kind: OptimizerKind, param: GpuTensor, grad: GpuTensor, state: readonly GpuTensor[], hyper: OptimizerHyper): void {
    checkOptimizer(kind, param, grad, state, hyper);
    optimizerGpu(this.ctx, this.kernels.elementBlock, kind, this.own(param), this.own(grad), state.map((t) => this.own(t)), hyper);
  }

  flush(): void {
    this.ctx.submit();
  }
}
