import { median } from '../../tools/format.js';

export { median };

/** Median, extremes and count of one measurement's samples (milliseconds unless said otherwise). */
export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  return { median: sig(median(samples)), min: sig(Math.min(...samples)), max: sig(Math.max(...samples)), n: samples.length };
}

/** Rounds for JSON and tables: timings keep 4 significant digits, which is more than the noise allows. */
export function sig(x: number, digits = 4): number {
  return Number.isFinite(x) ? Number(x.toPrecision(digits)) : x;
}

export function now(): number {
  return performance.now();
}
