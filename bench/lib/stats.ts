/** Median, extremes and count of one measurement's samples (milliseconds unless said otherwise). */
export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** The middle sample, or the mean of the two middle ones; NaN for none. */
export function median(samples: readonly number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
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
