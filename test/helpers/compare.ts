import { expect } from 'vitest';

/** Float32 unit roundoff. */
export const EPS32 = 2 ** -24;

/**
 * Elementwise |actual - expected| <= tol[i] (a number applies to all). NaN anywhere fails, so a
 * kernel that leaves poisoned output unwritten cannot pass.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number | ArrayLike<number>, what = ''): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const t = typeof tol === 'number' ? tol : tol[i]!;
    const diff = Math.abs(actual[i]! - expected[i]!);
    const excess = Number.isNaN(diff) ? Infinity : diff - t;
    if (excess > worstExcess) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    const t = typeof tol === 'number' ? tol : tol[worst]!;
    expect.fail(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ± ${t}`);
  }
}

export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  // A small LCG keeps the tests independent of the library's own RNG.
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

/** The error `fn` throws, to assert on its type and message together. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, nothing was thrown');
}
