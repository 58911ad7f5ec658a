import { describe, it, expect } from 'vitest';
import { Rng, sampleIndices } from '../src/data/rng.js';

const draws = (rng: Rng, n: number, f: (r: Rng) => number): number[] => Array.from({ length: n }, () => f(rng));

describe('Rng', () => {
  it('matches the xoshiro128** reference output for state [1,2,3,4]', () => {
    // From the reference C code (prng.di.unimi.it/xoshiro128starstar.c).
    const rng = Rng.fromState([1, 2, 3, 4, 0, 0]);
    expect(draws(rng, 6, (r) => r.nextU32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('seeds through splitmix32 as in the reference', () => {
    const rng = new Rng(42);
    expect(rng.getState()).toEqual([551831576, 144025891, 322543647, 3034809370, 0, 0]);
    expect(draws(rng, 3, (r) => r.nextU32())).toEqual([660444221, 3652823732, 77672526]);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = draws(new Rng(7), 20, (r) => r.nextU32());
    expect(draws(new Rng(7), 20, (r) => r.nextU32())).toEqual(a);
    expect(draws(new Rng(8), 20, (r) => r.nextU32())).not.toEqual(a);
    expect(draws(new Rng(0), 20, (r) => r.nextU32())).not.toEqual(a);
  });

  it('next() is in [0,1) and uses more than 32 bits', () => {
    const rng = new Rng(1);
    let fine = false;
    for (let i = 0; i < 1000; i++) {
      const x = rng.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      if (!Number.isInteger(x * 2 ** 32)) fine = true;
    }
    expect(fine).toBe(true);
  });

  it('resumes identically from getState, including a pending normal', () => {
    const rng = new Rng(123);
    rng.nextU32();
    rng.normal(); // odd count: the spare is cached
    const state = rng.getState();
    expect(state[4]).toBe(1);
    const resumed = Rng.fromState(JSON.parse(JSON.stringify(state)) as number[]);
    const mixed = (r: Rng): number[] => [r.normal(), r.normal(), r.normal(), r.next(), r.int(60000), r.nextU32()];
    expect(mixed(resumed)).toEqual(mixed(rng));
    expect(resumed.getState()).toEqual(rng.getState());
  });

  it('rejects malformed state and seeds', () => {
    expect(() => Rng.fromState([1, 2, 3])).toThrow(RangeError);
    expect(() => Rng.fromState([0, 0, 0, 0, 0, 0])).toThrow(/all-zero/);
    expect(() => Rng.fromState([1, 2, 3, 2 ** 32, 0, 0])).toThrow(RangeError);
    expect(() => Rng.fromState([1, 2, 3, 4, 2, 0])).toThrow(RangeError);
    expect(() => new Rng(1.5)).toThrow(RangeError);
  });

  it('int(n) stays in [0,n) and is roughly uniform', () => {
    const rng = new Rng(2024);
    for (const n of [1, 2, 3, 7, 60000, 2 ** 32]) {
      for (let i = 0; i < 200; i++) {
        const k = rng.int(n);
        expect(Number.isInteger(k) && k >= 0 && k < n).toBe(true);
      }
    }
    const bins = 10;
    const samples = 100_000;
    const counts = new Array<number>(bins).fill(0);
    for (let i = 0; i < samples; i++) counts[rng.int(bins)]++;
    const expected = samples / bins;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 9 degrees of freedom: P(chi2 > 27.9) = 0.001.
    expect(chi2).toBeLessThan(27.9);
    expect(() => rng.int(0)).toThrow(RangeError);
    expect(() => rng.int(2.5)).toThrow(RangeError);
  });

  it('normal() has mean ~0 and variance ~1 over 1e5 draws', () => {
    const rng = new Rng(99);
    const n = 100_000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      sum += z;
      sumSq += z * z;
    }
    const mean = sum / n;
    const variance = sumSq / n - mean * mean;
    // Standard errors: 1/sqrt(n) ~ 0.0032 for the mean, sqrt(2/n) ~ 0.0045 for the variance.
    expect(Math.abs(mean)).toBeLessThan(0.015);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
  });
});

describe('sampleIndices', () => {
  it('draws with replacement within range, reproducibly', () => {
    const a = sampleIndices(new Rng(5), 60000, 100);
    expect(a).toBeInstanceOf(Uint32Array);
    expect(a.length).toBe(100);
    for (const i of a) expect(i).toBeLessThan(60000);
    expect(Array.from(sampleIndices(new Rng(5), 60000, 100))).toEqual(Array.from(a));
    const small = sampleIndices(new Rng(5), 3, 50);
    expect(new Set(small).size).toBeLessThanOrEqual(3); // repeats are allowed, as in np.random.choice
    expect(sampleIndices(new Rng(5), 10, 0).length).toBe(0);
  });
});
