/**
 * The sizes of a convolution or a pooling, worked out once from the operands' shapes (NCHW
 * images, OIHW filters) and the op's arguments: both backends and every kernel read these, so
 * all refuse the same inputs with the same words.
 */
import { expectRank, ShapeError, shapeStr, type Shape } from '../tensor/shape.js';
import type { ConvArgs, PoolArgs } from './ops.js';

/** Everything a convolution kernel indexes by. */
export interface ConvGeometry {
  /** N, C, H, W of the input x [N, C, H, W]. */
  batch: number;
  channels: number;
  height: number;
  width: number;
  /** O, KH, KW of the filters W [O, C, KH, KW]. */
  filters: number;
  kh: number;
  kw: number;
  stride: number;
  pad: number;
  /** OH, OW of the output [N, O, OH, OW]: 1 + floor((H + 2·pad - KH) / stride), as the book. */
  outH: number;
  outW: number;
}

/** Everything a pooling kernel indexes by: input [N, C, H, W], output [N, C, OH, OW]. */
export interface PoolGeometry {
  batch: number;
  channels: number;
  height: number;
  width: number;
  poolH: number;
  poolW: number;
  stride: number;
  pad: number;
  outH: number;
  outW: number;
}

function positiveInt(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${what} must be an integer >= 1, got ${value}`);
}

function nonNegativeInt(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be an integer >= 0, got ${value}`);
}

/** The output side 1 + floor((in + 2·pad - window) / stride); a ShapeError when the window does not fit. */
function outSide(size: number, window: number, stride: number, pad: number, what: string, axis: string): number {
  const room = size + 2 * pad - window;
  if (room < 0) {
    throw new ShapeError(`${what}: a ${axis} window of ${window} does not fit an input ${axis} of ${size} with pad ${pad}`);
  }
  return 1 + Math.floor(room / stride);
}

/** The geometry of x [N, C, H, W] convolved with W [O, C, KH, KW]; refuses shapes that do not fit. */
export function convGeometry(xShape: Shape, wShape: Shape, args: ConvArgs = {}, what = 'convolution'): ConvGeometry {
  const { stride = 1, pad = 0 } = args;
  positiveInt(stride, `${what}: stride`);
  nonNegativeInt(pad, `${what}: pad`);
  expectRank(xShape, 4, `${what} input x (N, C, H, W)`);
  expectRank(wShape, 4, `${what} filters W (O, C, KH, KW)`);
  const [batch, channels, height, width] = xShape as [number, number, number, number];
  const [filters, wChannels, kh, kw] = wShape as [number, number, number, number];
  if (wChannels !== channels) {
    throw new ShapeError(`${what}: filters W ${shapeStr(wShape)} have ${wChannels} input channels, x ${shapeStr(xShape)} has ${channels}`);
  }
  const outH = outSide(height, kh, stride, pad, what, 'height');
  const outW = outSide(width, kw, stride, pad, what, 'width');
  return { batch, channels, height, width, filters, kh, kw, stride, pad, outH, outW };
}

/** The geometry of max pooling x [N, C, H, W]; refuses shapes and windows that do not fit. */
export function poolGeometry(xShape: Shape, args: PoolArgs, what = 'pooling'): PoolGeometry {
  const { poolH, poolW, stride = 1, pad = 0 } = args;
  positiveInt(poolH, `${what}: pool height`);
  positiveInt(poolW, `${what}: pool width`);
  positiveInt(stride, `${what}: stride`);
  nonNegativeInt(pad, `${what}: pad`);
  expectRank(xShape, 4, `${what} input x (N, C, H, W)`);
  const [batch, channels, height, width] = xShape as [number, number, number, number];
  const outH = outSide(height, poolH, stride, pad, what, 'height');
  const outW = outSide(width, poolW, stride, pad, what, 'width');
  return { batch, channels, height, width, poolH, poolW, stride, pad, outH, outW };
}

/** The output shape [N, O, OH, OW] of a convolution. */
export function convOutputShape(g: ConvGeometry): [number, number, number, number] {
  return [g.batch, g.filters, g.outH, g.outW];
}

/** The output shape [N, C, OH, OW] of a pooling. */
export function poolOutputShape(g: PoolGeometry): [number, number, number, number] {
  return [g.batch, g.channels, g.outH, g.outW];
}
