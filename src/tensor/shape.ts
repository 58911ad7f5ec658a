export type Shape = readonly number[];
export type FloatDType = 'f32' | 'f64';
/** u32 holds class indices (labels, argmax results). */
export type DType = FloatDType | 'u32';

/** A shape that does not fit an op; the message gives the shapes involved. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function checkShape(shape: Shape, what: string): void {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new ShapeError(`${what}: invalid shape ${shapeStr(shape)} (dimensions must be integers >= 0)`);
  }
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function expectShape(actual: Shape, expected: Shape, what: string): void {
  if (!sameShape(actual, expected)) {
    throw new ShapeError(`${what}: expected shape ${shapeStr(expected)}, got ${shapeStr(actual)}`);
  }
}

export function expectRank(shape: Shape, rank: number, what: string): void {
  if (shape.length !== rank) throw new ShapeError(`${what}: expected a rank-${rank} tensor, got shape ${shapeStr(shape)}`);
}
