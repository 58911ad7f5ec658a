import { reluBackwardCpu, reluForwardCpu, sigmoidBackwardCpu, sigmoidForwardCpu } from '../kernels/activations.js';
import { batchNormBackwardCpu, batchNormInferenceCpu, batchNormTrainCpu } from '../kernels/batchnorm.js';
import { dropoutBackwardCpu, dropoutForwardCpu, dropoutInferenceCpu } from '../kernels/dropout.js';
import { matmulCpu } from '../kernels/matmul.js';
import { optimizerCpu, sgdCpu } from '../kernels/optimizers.js';
import { argmaxCpu, columnSumCpu, countCorrectCpu, sumCpu } from '../kernels/reduce.js';
import { softmaxCpu, xentBackwardCpu, xentCpu } from '../kernels/softmax.js';
import { CpuTensor } from '../tensor/cpu-tensor.js';
import type { FloatDType, Shape } from '../tensor/shape.js';
import type { Backend } from './backend.js';
import type { BatchNormHyper, ConvArgs, MatmulArgs, PoolArgs, OptimizerHyper, OptimizerKind, RunningStats } from './ops.js';
import { checkConv, checkConvPool, checkPool } from './checks.js';
import { convOutputShape, poolOutputShape } from './geometry.js';
import { convBackwardDataCpu, convBackwardFilterCpu, convForwardCpu } from '../kernels/conv.js';
import { maxPoolBackwardCpu, maxPoolForwardCpu } from '../kernels/pooling.js';
import { convPoolBackwardFilterCpu, convReluPoolForwardCpu } from '../kernels/conv-pool.js';
import { checkBatchNorm, checkBatchNormHyper, checkDropout, checkFinite, checkIndices, checkOptimizer, checkSlot, checkLabels, checkMatmul, checkMatrix, checkSame, checkSize } from './checks.js';

type Floats = Float32Array | Float64Array;

/**
 * The reference every GPU result is checked against, and the CPU side of the CPU-vs-GPU
 * comparison: each op is a plain loop over typed arrays, in float64 or float32 storage.
 */
export class CpuBackend implements Backend<CpuTensor> {
  readonly device = 'cpu' as const;
  readonly label: string;

  constructor(readonly precision: FloatDType = 'f64') {
    this.label = `CPU (${precision}, plain TypeScript)`;
  }

  private floats(shape: Shape): CpuTensor {
    return CpuTensor.zeros(shape, this.precision);
  }

  private data(t: CpuTensor): Floats {
    if (t.data instanceof Uint32Array) throw new TypeError(`expected a float tensor, got u32 ${JSON.stringify(t.shape)}`);
    return t.data;
  }

  fromArray(data: ArrayLike<number>, shape: Shape): CpuTensor {
    checkSize(data, shape, 'fromArray');
    const t = this.floats(shape);
    (t.data as Floats).set(data);
    return t;
  }

  labels(indices: ArrayLike<number>, classes: number): CpuTensor {
    checkIndices(indices, classes);
    return new CpuTensor([indices.length], Uint32Array.from(indices));
  }

  zeros(shape: Shape): CpuTensor {
    return this.floats(shape);
  }

  write(t: CpuTensor, data: ArrayLike<number>): void {
    checkSize(data, t.shape, 'write');
    this.data(t).set(data);
  }

  async read(t: CpuTensor): Promise<Float32Array | Float64Array | Uint32Array> {
    return t.data.slice();
  }

  dispose(): void {
    // Garbage collection owns CPU memory.
  }

  /** `args.data` is not read: one loop serves every A (and skips A's zeros where B is not transposed). */
  reshape(x: CpuTensor, shape: Shape): CpuTensor {
    return x.view(shape);
  }

  matmul(a: CpuTensor, b: CpuTensor, args: MatmulArgs = {}): CpuTensor {
    const bias = args.bias as CpuTensor | undefined;
    const d = checkMatmul(a, b, bias, args);
    const c = this.floats([d.M, d.N]);
    matmulCpu(this.data(a), this.data(b), bias && this.data(bias), this.data(c), d, args);
    return c;
  }

  reluForward(x: CpuTensor) {
    const y = this.floats(x.shape);
    const mask = this.floats(x.shape);
    reluForwardCpu(this.data(x), this.data(y), this.data(mask));
    return { y, mask };
  }

  reluBackward(dy: CpuTensor, mask: CpuTensor): CpuTensor {
    checkSame(dy, mask, 'reluBackward', ['dy', 'mask']);
    const dx = this.floats(dy.shape);
    reluBackwardCpu(this.data(dy), this.data(mask), this.data(dx));
    return dx;
  }

  sigmoidForward(x: CpuTensor): CpuTensor {
    const y = this.floats(x.shape);
    sigmoidForwardCpu(this.data(x), this.data(y));
    return y;
  }

  sigmoidBackward(dy: CpuTensor, y: CpuTensor): CpuTensor {
    checkSame(dy, y, 'sigmoidBackward', ['dy', 'y']);
    const dx = this.floats(dy.shape);
    sigmoidBackwardCpu(this.data(dy), this.data(y), this.data(dx));
    return dx;
  }

  dropoutForward(x: CpuTensor, ratio: number, seed: number) {
    checkDropout(ratio, seed);
    const y = this.floats(x.shape);
    const mask = this.floats(x.shape);
    dropoutForwardCpu(this.data(x), this.data(y), this.data(mask), seed, ratio);
    return { y, mask };
  }

  dropoutInference(x: CpuTensor, ratio: number): CpuTensor {
    checkDropout(ratio);
    const y = this.floats(x.shape);
    dropoutInferenceCpu(this.data(x), this.data(y), ratio);
    return y;
  }

  dropoutBackward(dy: CpuTensor, mask: CpuTensor): CpuTensor {
    checkSame(dy, mask, 'dropoutBackward', ['dy', 'mask']);
    const dx = this.floats(dy.shape);
    dropoutBackwardCpu(this.data(dy), this.data(mask), this.data(dx));
    return dx;
  }

  batchNormTrain(x: CpuTensor, gamma: CpuTensor, beta: CpuTensor, running: RunningStats<CpuTensor>, hyper: BatchNormHyper) {
    const shape = checkBatchNorm(x, { gamma, beta, 'running mean': running.mean, 'running variance': running.variance }, true);
    checkBatchNormHyper(hyper);
    const out = { y: this.floats(x.shape), xn: this.floats(x.shape), invStd: this.floats([shape[1]]) };
    batchNormTrainCpu(
      this.data(x),
      shape,
      this.data(gamma),
      this.data(beta),
      { mean: this.data(running.mean), variance: this.data(running.variance) },
      { y: this.data(out.y), xn: this.data(out.xn), invStd: this.data(out.invStd) },
      hyper,
    );
    return out;
  }

  batchNormInference(x: CpuTensor, gamma: CpuTensor, beta: CpuTensor, running: RunningStats<CpuTensor>, hyper: BatchNormHyper): CpuTensor {
    const [, cols] = checkBatchNorm(x, { gamma, beta, 'running mean': running.mean, 'running variance': running.variance }, false);
    checkBatchNormHyper(hyper);
    const y = this.floats(x.shape);
    batchNormInferenceCpu(this.data(x), cols, this.data(gamma), this.data(beta), { mean: this.data(running.mean), variance: this.data(running.variance) }, this.data(y), hyper);
    return y;
  }

  batchNormBackward(dy: CpuTensor, xn: CpuTensor, invStd: CpuTensor, gamma: CpuTensor) {
    checkSame(dy, xn, 'batchNormBackward', ['dy', 'xn']);
    const shape = checkBatchNorm(dy, { '1/std': invStd, gamma }, false);
    const out = { dx: this.floats(dy.shape), dgamma: this.floats([shape[1]]), dbeta: this.floats([shape[1]]) };
    batchNormBackwardCpu(this.data(dy), shape, this.data(xn), this.data(invStd), this.data(gamma), {
      dx: this.data(out.dx),
      dgamma: this.data(out.dgamma),
      dbeta: this.data(out.dbeta),
    });
    return out;
  }

  convForward(x: CpuTensor, w: CpuTensor, b: CpuTensor, args: ConvArgs = {}): CpuTensor {
    const g = checkConv('convForward', x.shape, w, args, { b });
    const y = this.floats(convOutputShape(g));
    convForwardCpu(g, this.data(x), this.data(w), this.data(b), this.data(y));
    return y;
  }

  convBackwardFilter(dout: CpuTensor, x: CpuTensor, w: CpuTensor, args: ConvArgs = {}) {
    const g = checkConv('convBackwardFilter', x.shape, w, args, { dout });
    const out = { dw: this.floats(w.shape), db: this.floats([g.filters]) };
    convBackwardFilterCpu(g, this.data(dout), this.data(x), this.data(out.dw), this.data(out.db));
    return out;
  }

  convBackwardData(dout: CpuTensor, w: CpuTensor, xShape: Shape, args: ConvArgs = {}): CpuTensor {
    const g = checkConv('convBackwardData', xShape, w, args, { dout });
    const dx = this.floats(xShape);
    convBackwardDataCpu(g, this.data(dout), this.data(w), this.data(dx));
    return dx;
  }

  maxPoolForward(x: CpuTensor, args: PoolArgs) {
    const g = checkPool('maxPoolForward', x.shape, args, {});
    const out = { y: this.floats(poolOutputShape(g)), argmax: CpuTensor.zeros(poolOutputShape(g), 'u32') };
    maxPoolForwardCpu(g, this.data(x), this.data(out.y), out.argmax.data as Uint32Array);
    return out;
  }

  maxPoolBackward(dy: CpuTensor, argmax: CpuTensor, xShape: Shape, args: PoolArgs): CpuTensor {
    const g = checkPool('maxPoolBackward', xShape, args, { dy, argmax });
    const dx = this.floats(xShape);
    maxPoolBackwardCpu(g, this.data(dy), argmax.data as Uint32Array, this.data(dx));
    return dx;
  }

  convReluPoolForward(x: CpuTensor, w: CpuTensor, b: CpuTensor, conv: ConvArgs, pool: PoolArgs) {
    const { cg, pg } = checkConvPool('convReluPoolForward', x.shape, w, conv, pool, { b });
    const out = { y: this.floats(poolOutputShape(pg)), argmax: CpuTensor.zeros(poolOutputShape(pg), 'u32') };
    convReluPoolForwardCpu(cg, pg, this.data(x), this.data(w), this.data(b), this.data(out.y), out.argmax.data as Uint32Array);
    return out;
  }

  convPoolBackwardFilter(dy: CpuTensor, argmax: CpuTensor, x: CpuTensor, w: CpuTensor, conv: ConvArgs, pool: PoolArgs) {
    const { cg, pg } = checkConvPool('convPoolBackwardFilter', x.shape, w, conv, pool, { dy, argmax });
    const out = { dw: this.floats(w.shape), db: this.floats([cg.filters]) };
    convPoolBackwardFilterCpu(cg, pg, this.data(dy), argmax.data as Uint32Array, this.data(x), this.data(out.dw), this.data(out.db));
    return out;
  }

  softmax(x: CpuTensor): CpuTensor {
    const [rows, cols] = checkMatrix(x, 'softmax');
    const y = this.floats(x.shape);
    softmaxCpu(this.data(x), this.data(y), rows, cols);
    return y;
  }

  softmaxCrossEntropy(logits: CpuTensor, labels: CpuTensor) {
    checkLabels(logits, labels, 'softmaxCrossEntropy');
    const [rows, cols] = logits.shape as [number, number];
    const probs = this.floats(logits.shape);
    const loss = xentCpu(this.data(logits), labels.data, this.data(probs), rows, cols);
    return { probs, loss: this.scalar(loss) };
  }

  softmaxCrossEntropyBackward(probs: CpuTensor, labels: CpuTensor): CpuTensor {
    checkLabels(probs, labels, 'softmaxCrossEntropyBackward');
    const [rows, cols] = probs.shape as [number, number];
    const dx = this.floats(probs.shape);
    xentBackwardCpu(this.data(probs), labels.data, this.data(dx), rows, cols);
    return dx;
  }

  sumColumns(x: CpuTensor): CpuTensor {
    const [rows, cols] = checkMatrix(x, 'sumColumns');
    const out = this.floats([cols]);
    columnSumCpu(this.data(x), this.data(out), rows, cols);
    return out;
  }

  sum(x: CpuTensor): CpuTensor {
    return this.scalar(sumCpu(this.data(x)));
  }

  sumSquares(x: CpuTensor): CpuTensor {
    return this.scalar(sumCpu(this.data(x).map((v) => v * v)));
  }

  addScaled(target: CpuTensor, source: CpuTensor, alpha: number): void {
    checkSame(target, source, 'addScaled', ['target', 'source']);
    checkFinite(alpha, 'addScaled: alpha');
    // p -= lr·g with lr = -alpha is exactly target += alpha·source.
    sgdCpu(this.data(target), this.data(source), -alpha);
  }

  mean(x: CpuTensor): CpuTensor {
    return this.scalar(x.size === 0 ? NaN : sumCpu(this.data(x)) / x.size);
  }

  argmax(x: CpuTensor): CpuTensor {
    const [rows, cols] = checkMatrix(x, 'argmax');
    const out = new CpuTensor([rows], new Uint32Array(rows));
    argmaxCpu(this.data(x), out.data as Uint32Array, rows, cols);
    return out;
  }

  countCorrect(scores: CpuTensor, labels: CpuTensor): CpuTensor {
    checkLabels(scores, labels, 'countCorrect');
    const [rows, cols] = scores.shape as [number, number];
    return this.scalar(countCorrectCpu(this.data(scores), labels.data, rows, cols));
  }

  copy(src: CpuTensor, dst: CpuTensor): void {
    checkSame(src, dst, 'copy', ['src', 'dst']);
    this.data(dst).set(this.data(src));
  }

  storeScalar(src: CpuTensor, dst: CpuTensor, index: number): void {
    checkSlot(dst, index);
    this.data(dst)[index] = this.data(src)[0]!;
  }

  sgdUpdate(param: CpuTensor, grad: CpuTensor, lr: number): void {
    checkSame(param, grad, 'sgdUpdate', ['param', 'grad']);
    checkFinite(lr, 'sgdUpdate: learning rate');
    sgdCpu(this.data(param), this.data(grad), lr);
  }

  optimizerUpdate(kind: OptimizerKind, param: CpuTensor, grad: CpuTensor, state: readonly CpuTensor[], hyper: OptimizerHyper): void {
    checkOptimizer(kind, param, grad, state, hyper);
    optimizerCpu(kind, this.data(param), this.data(grad), state.map((t) => this.data(t)), hyper);
  }

  flush(): void {}

  private scalar(value: number): CpuTensor {
    const t = this.floats([]);
    (t.data as Floats)[0] = value;
    return t;
  }
}
