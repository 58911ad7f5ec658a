import { matmulDims, checkBias } from '../kernels/matmul.js';
import { OPTIMIZER_SPEC } from '../kernels/optimizers.js';
import { expectRank, expectShape, sameShape, ShapeError, shapeStr, type Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { convGeometry, convOutputShape, poolGeometry, poolOutputShape, type ConvGeometry, type PoolGeometry } from './geometry.js';
import type { ConvArgs, MatmulOptions, OptimizerHyper, OptimizerKind, PoolArgs } from './ops.js';

/** Shape rules shared by both backends, so both refuse the same inputs with the same words. */
export function checkMatmul(a: Tensor, b: Tensor, bias: Tensor | undefined, opts: MatmulOptions) {
  const d = matmulDims(a.shape, b.shape, opts);
  if (bias) checkBias(bias.shape, d.N);
  return d;
}

/** Refuses two operands of different shapes, naming the op and both shapes. */
export function checkSame(a: Tensor, b: Tensor, op: string, names: [string, string]): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(`${op}: ${names[0]} ${shapeStr(a.shape)} and ${names[1]} ${shapeStr(b.shape)} must have the same shape`);
  }
}

/** Refuses anything but a rank-2 tensor; returns its [rows, cols]. */
export function checkMatrix(x: Tensor, op: string, name = 'input'): [number, number] {
  expectRank(x.shape, 2, `${op} ${name}`);
  return x.shape as [number, number];
}

/** Labels fit scores: indices [rows] (u32) or one-hot [rows, cols]. */
export function checkLabels(scores: Tensor, labels: Tensor, op: string): void {
  const [rows, cols] = checkMatrix(scores, op, 'scores');
  const ok: boolean = labels.dtype === 'u32' ? sameShape(labels.shape, [rows]) : sameShape(labels.shape, [rows, cols]);
  if (!ok) {
    throw new ShapeError(
      `${op}: labels ${shapeStr(labels.shape)} (${labels.dtype}) do not fit scores ${shapeStr(scores.shape)}: ` +
        `expected class indices of shape [${rows}] or one-hot rows of shape [${rows}, ${cols}]`,
    );
  }
}

/** Refuses a class index that is not an integer in [0, classes), naming its position. */
export function checkIndices(indices: ArrayLike<number>, classes: number): void {
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new RangeError(`labels: index ${i} is ${v}, not a class in [0, ${classes})`);
    }
  }
}

/** Refuses NaN and infinities for a scalar argument (a learning rate, a scale). */
export function checkFinite(value: number, what: string): void {
  if (!Number.isFinite(value)) throw new RangeError(`${what} must be a finite number, got ${value}`);
}

/** Refuses values that do not fill a shape exactly. */
export function checkSize(data: ArrayLike<number>, shape: Shape, what: string): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new ShapeError(`${what}: ${data.length} values do not fill shape ${shapeStr(shape)} (${n} values)`);
}

/** Refuses a storeScalar slot outside the destination tensor. */
export function checkSlot(dst: Tensor, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= dst.size) {
    throw new RangeError(`storeScalar: slot ${index} is outside a tensor of ${dst.size} values`);
  }
}

/**
 * An optimizer update's inputs: a known kind, grad and every state tensor shaped like param,
 * as many state tensors as the kind keeps, every hyperparameter it reads finite (Adam's step an
 * integer >= 1). Ranges (momentum < 1, …) are the optimizer classes' business.
 */
export function checkOptimizer(kind: OptimizerKind, param: Tensor, grad: Tensor, state: readonly Tensor[], hyper: OptimizerHyper): void {
  const op = `optimizerUpdate(${kind})`;
  const spec = (OPTIMIZER_SPEC as Partial<typeof OPTIMIZER_SPEC>)[kind];
  if (!spec) throw new RangeError(`optimizerUpdate: unknown optimizer '${kind}', expected one of ${Object.keys(OPTIMIZER_SPEC).join(', ')}`);
  checkSame(param, grad, op, ['param', 'grad']);
  if (state.length !== spec.state.length) {
    throw new RangeError(`${op}: expected ${spec.state.length} state tensor(s) (${spec.state.join(', ')}), got ${state.length}`);
  }
  state.forEach((s, i) => checkSame(param, s, op, ['param', `state ${spec.state[i]}`]));
  for (const name of spec.hyper) checkFinite(hyper[name] as number, `${op}: ${name === 'lr' ? 'learning rate' : name}`);
  if (kind === 'adam' && !(Number.isInteger(hyper.step) && hyper.step! >= 1)) {
    throw new RangeError(`${op}: step must be an integer >= 1 (t counts from 1), got ${hyper.step}`);
  }
}

/** Refuses a dropout ratio outside [0, 1) and a seed that is not a 32-bit unsigned integer. */
export function checkDropout(ratio: number, seed?: number): void {
  if (!(ratio >= 0 && ratio < 1)) throw new RangeError(`dropout: ratio must be in [0, 1), got ${ratio}`);
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32)) {
    throw new RangeError(`dropout: seed must be an integer in [0, 2^32), got ${seed}`);
  }
}

/** x is [rows, cols] and gamma, beta and the running statistics are [cols]; training needs rows >= 1. */
export function checkBatchNorm(x: Tensor, vectors: Record<string, Tensor>, train: boolean): [number, number] {
  const op = train ? 'batchNormTrain' : 'batchNormInference';
  const [rows, cols] = checkMatrix(x, op, 'x');
  for (const [name, v] of Object.entries(vectors)) {
    if (!sameShape(v.shape, [cols])) throw new ShapeError(`${op}: ${name} ${shapeStr(v.shape)} does not fit x ${shapeStr(x.shape)}: expected [${cols}]`);
  }
  if (train && rows < 1) throw new ShapeError(`${op}: a batch of ${rows} rows has no mean or variance`);
  return [rows, cols];
}

/** Refuses BatchNorm's momentum outside [0, 1) and an eps that is not a finite number > 0. */
export function checkBatchNormHyper(h: { momentum: number; eps: number }): void {
  if (!(h.momentum >= 0 && h.momentum < 1)) throw new RangeError(`batch norm: momentum must be in [0, 1), got ${h.momentum}`);
  if (!(h.eps > 0 && Number.isFinite(h.eps))) throw new RangeError(`batch norm: eps must be a finite number > 0, got ${h.eps}`);
}

/** A convolution's operands: the geometry of x and W, with b [O] and, for a backward, dout [N, O, OH, OW]. */
export function checkConv(op: string, xShape: Shape, w: Tensor, args: ConvArgs, operands: { b?: Tensor; dout?: Tensor }): ConvGeometry {
  const g = convGeometry(xShape, w.shape, args, op);
  if (operands.b && !sameShape(operands.b.shape, [g.filters])) {
    throw new ShapeError(`${op}: bias b ${shapeStr(operands.b.shape)} must have shape [${g.filters}], one per filter`);
  }
  if (operands.dout) expectShape(operands.dout.shape, convOutputShape(g), `${op}: dout`);
  return g;
}

/** Max pooling's operands: the geometry of x, with dy [N, C, OH, OW] and u32 argmax of that shape for a backward. */
export function checkPool(op: string, xShape: Shape, args: PoolArgs, operands: { dy?: Tensor; argmax?: Tensor }): PoolGeometry {
  const g = poolGeometry(xShape, args, op);
  if (operands.dy) expectShape(operands.dy.shape, poolOutputShape(g), `${op}: dy`);
  if (operands.argmax) {
    expectShape(operands.argmax.shape, poolOutputShape(g), `${op}: argmax`);
    if (operands.argmax.dtype !== 'u32') throw new TypeError(`${op}: argmax must be the u32 indices maxPoolForward returned, got ${operands.argmax.dtype}`);
  }
  return g;
}

/**
 * The fused Conv → Relu → Pool block's operands: the convolution's geometry, the pooling's over
 * its output, b [O], and for the backward dy and u32 argmax shaped like the pooled output.
 */
export function checkConvPool(
  op: string,
  xShape: Shape,
  w: Tensor,
  conv: ConvArgs,
  pool: PoolArgs,
  operands: { b?: Tensor; dy?: Tensor; argmax?: Tensor },
): { cg: ConvGeometry; pg: PoolGeometry } {
  const cg = checkConv(op, xShape, w, conv, { b: operands.b });
  const pg = checkPool(op, convOutputShape(cg), pool, { dy: operands.dy, argmax: operands.argmax });
  return { cg, pg };
}
