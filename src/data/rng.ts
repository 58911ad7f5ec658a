// Seeded RNG: xoshiro128** (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c)
// seeded through splitmix32. Math.random can't be seeded, and a resumed training run has to
// draw the same batches and initial weights as the one it continues.

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** One step of splitmix32; returns [output, nextState]. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return [(z ^ (z >>> 15)) >>> 0, next];
}

const TWO_32 = 2 ** 32;
const TWO_53 = 2 ** 53;

/**
 * State layout of getState(): [s0, s1, s2, s3, hasSpare (0|1), spare].
 * The spare Box-Muller value is part of the state, else a run resumed after an odd number
 * of normal() calls would drift by one draw.
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private hasSpare = false;
  private spare = 0;

  /** Integer seeds; reduced modulo 2^32. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`Rng: seed must be a safe integer, got ${seed}`);
    // splitmix32 is a bijection of its counter, so four successive outputs are never all
    // zero: the one state xoshiro must avoid.
    let sm = seed >>> 0;
    [this.s0, sm] = splitmix32(sm);
    [this.s1, sm] = splitmix32(sm);
    [this.s2, sm] = splitmix32(sm);
    [this.s3, sm] = splitmix32(sm);
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with all 53 mantissa bits random. */
  next(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 2 ** 26 + lo) / TWO_53;
  }

  /** Uniform integer in [0, n), n an integer in [1, 2^32]; rejection keeps it unbiased. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_32) throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    // Largest multiple of n that fits in 32 bits: draws at or above it would favour small results.
    const limit = TWO_32 - (TWO_32 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal by Box-Muller; each pair of uniforms yields two draws. */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const u1 = 1 - this.next(); // (0, 1]: log(0) would be -Infinity
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    this.hasSpare = true;
    return r * Math.cos(theta);
  }

  getState(): number[] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0, this.hasSpare ? 1 : 0, this.spare];
  }

  static fromState(state: readonly number[]): Rng {
    if (state.length !== 6) throw new RangeError(`Rng.fromState: expected 6 numbers, got ${state.length}`);
    const [s0, s1, s2, s3, hasSpare, spare] = state as [number, number, number, number, number, number];
    for (const word of [s0, s1, s2, s3]) {
      if (!Number.isInteger(word) || word < 0 || word >= TWO_32) {
        throw new RangeError(`Rng.fromState: state words must be 32-bit unsigned integers, got ${word}`);
      }
    }
    if ((s0 | s1 | s2 | s3) === 0) throw new RangeError('Rng.fromState: all-zero state is not valid for xoshiro128**');
    if ((hasSpare !== 0 && hasSpare !== 1) || !Number.isFinite(spare)) {
      throw new RangeError(`Rng.fromState: bad spare normal [${hasSpare}, ${spare}]`);
    }
    const rng = new Rng(0);
    rng.s0 = s0 | 0;
    rng.s1 = s1 | 0;
    rng.s2 = s2 | 0;
    rng.s3 = s3 | 0;
    rng.hasSpare = hasSpare === 1;
    rng.spare = spare;
    return rng;
  }
}

/** `count` indices drawn uniformly from [0, n) with replacement, like np.random.choice(n, count). */
export function sampleIndices(rng: Rng, n: number, count: number): Uint32Array {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`sampleIndices: count must be a non-negative integer, got ${count}`);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.int(n);
  return out;
}
