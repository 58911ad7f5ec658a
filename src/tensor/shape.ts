/** Dimensions, outermost first: [rows, cols] for a matrix, [] for a scalar. */
export type Shape = readonly number[];
/** Float precision of a CPU backend. */
export type FloatDType = 'f32' | 'f64';
/** u32 holds class indices (labels, argmax results). */
export type DType = FloatDType | 'u32';

/** A shape that does not fit an op; the message gives the shapes involved. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** The number of values a shape holds. */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A shape as errors print it: '[100, 784]'. */
export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Refuses dimensions that are not integers >= 0. */
export function checkShape(shape: Shape, what: string): void {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new ShapeError(`${what}: invalid shape ${shapeStr(shape)} (dimensions must be integers >= 0)`);
  }
}

/** Whether two shapes are equal. */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Refuses a shape other than the expected one, naming both. */
export function expectShape(actual: Shape, expected: Shape, what: string): void {
  if (!sameShape(actual, expected)) {
    throw new ShapeError(`${what}: expected shape ${shapeStr(expected)}, got ${shapeStr(actual)}`);
  }
}

/** Refuses a shape of another rank, naming it. */
export function expectRank(shape: Shape, rank: number, what: string): void {
  if (shape.length !== rank) throw new ShapeError(`${what}: expected a rank-${rank} tensor, got shape ${shapeStr(shape)}`);
}
