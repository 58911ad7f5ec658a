import { describe, expect, it } from 'vitest';
import { shiftSplit } from '../src/experiments/shift.js';

/** Two 3x4 images with distinct pixel values, so a misplaced pixel shows. */
const split = { count: 2, rows: 3, cols: 4, pixels: Uint8Array.from({ length: 24 }, (_, i) => i + 1), labels: Uint8Array.of(3, 7) };

describe('shiftSplit', () => {
  it('moves every image right and down, zeros coming in, labels kept', () => {
    const moved = shiftSplit(split, 1, 2);
    expect([...moved.pixels]).toEqual([
      0, 0, 0, 0, /**/ 0, 0, 1, 2, /**/ 0, 0, 5, 6,
      0, 0, 0, 0, /**/ 0, 0, 13, 14, /**/ 0, 0, 17, 18,
    ]);
    expect(moved.labels).toBe(split.labels);
  });

  it('moves left and up with negative shifts, and empties an image shifted past its edge', () => {
    expect([...shiftSplit(split, -1, -1).pixels.subarray(0, 12)]).toEqual([6, 7, 8, 0, /**/ 10, 11, 12, 0, /**/ 0, 0, 0, 0]);
    expect([...shiftSplit(split, 0, 4).pixels].every((v) => v === 0)).toBe(true);
    expect([...shiftSplit(split, 0, 0).pixels]).toEqual([...split.pixels]);
  });
});
