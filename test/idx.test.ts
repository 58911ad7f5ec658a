import { describe, it, expect } from 'vitest';
import { IdxError, parseIdx, parseIdxImages, parseIdxLabels } from '../src/data/idx.js';

function idx(dims: number[], data: ArrayLike<number>, type = 0x08): Uint8Array {
  const bytes = new Uint8Array(4 + 4 * dims.length + data.length);
  bytes[2] = type;
  bytes[3] = dims.length;
  const view = new DataView(bytes.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  bytes.set(data, 4 + 4 * dims.length);
  return bytes;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i % 256);

function errorOf(fn: () => unknown): IdxError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IdxError);
    expect((e as Error).name).toBe('IdxError');
    return e as IdxError;
  }
  throw new Error('expected an IdxError, nothing was thrown');
}

describe('parseIdx', () => {
  it('reads big-endian dims and the data that follows', () => {
    const parsed = parseIdx(idx([2, 3, 4], range(24)), 'x');
    expect(parsed.dims).toEqual([2, 3, 4]);
    expect(Array.from(parsed.data)).toEqual(range(24));
  });

  it('reads dims above 2^31 without going negative', () => {
    const bytes = idx([1, 0x80000000], []);
    // 1 x 2^31 would need 2 GiB; cut it short and check the message carries the unsigned size.
    expect(errorOf(() => parseIdx(bytes, 'big')).message).toContain('1x2147483648 = 2147483648 data bytes');
  });

  it('returns data owning an exact, zero-offset buffer even from an offset view', () => {
    const backing = new Uint8Array(100);
    const file = idx([5], [1, 2, 3, 4, 5]);
    backing.set(file, 7);
    const parsed = parseIdx(backing.subarray(7, 7 + file.length), 'offset');
    expect(Array.from(parsed.data)).toEqual([1, 2, 3, 4, 5]);
    expect(parsed.data.byteOffset).toBe(0);
    expect(parsed.data.buffer.byteLength).toBe(5);
  });

  it('rejects a file shorter than the magic number', () => {
    const e = errorOf(() => parseIdx(new Uint8Array([0, 0, 8]), 'tiny-file'));
    expect(e.message).toMatch(/^tiny-file: too short/);
    expect(e.message).toContain('3 bytes');
  });

  it('rejects nonzero leading bytes', () => {
    const bytes = idx([1], [0]);
    bytes[0] = 0x1f;
    bytes[1] = 0x8b; // what a gzipped file that was never unpacked looks like
    const e = errorOf(() => parseIdx(bytes, 'zipped'));
    expect(e.message).toMatch(/^zipped: not an IDX file/);
    expect(e.message).toContain('0x1f 0x8b');
  });

  it('rejects a type code other than unsigned byte, naming the code', () => {
    const e = errorOf(() => parseIdx(idx([1], [0, 0, 0, 0], 0x0d), 'floats'));
    expect(e.message).toMatch(/^floats: unsupported type code 0x0d \(float\)/);
    const unknown = errorOf(() => parseIdx(idx([1], [0], 0x42), 'odd'));
    expect(unknown.message).toMatch(/^odd: unsupported type code 0x42;/);
  });

  it('rejects zero dimensions and a header cut short', () => {
    expect(errorOf(() => parseIdx(idx([], []), 'nodims')).message).toMatch(/^nodims: header declares 0 dimensions/);
    const short = idx([2, 3, 4], []).subarray(0, 10);
    expect(errorOf(() => parseIdx(short, 'shorthead')).message).toBe(
      'shorthead: truncated header: 3 dimensions need 16 header bytes, file has 10',
    );
  });

  it('rejects truncated data, saying expected and actual sizes', () => {
    const bytes = idx([60000, 28, 28], new Uint8Array(1000));
    expect(errorOf(() => parseIdx(bytes, 'train-images-idx3-ubyte')).message).toBe(
      'train-images-idx3-ubyte: truncated: header says 60000x28x28 = 47040000 data bytes, file has 1000',
    );
  });

  it('rejects trailing bytes', () => {
    const bytes = idx([3], [1, 2, 3, 4, 5]);
    expect(errorOf(() => parseIdx(bytes, 'labels')).message).toBe(
      'labels: 2 trailing bytes: header says 3 = 3 data bytes, file has 5',
    );
  });
});

describe('parseIdxImages', () => {
  it('splits the three dims into count, rows and cols', () => {
    const images = parseIdxImages(idx([2, 2, 3], range(12)), 'imgs', 2);
    expect(images).toMatchObject({ count: 2, rows: 2, cols: 3 });
    expect(images.pixels.length).toBe(12);
  });

  it('rejects a label file passed as images', () => {
    expect(errorOf(() => parseIdxImages(idx([4], [1, 2, 3, 4]), 'labels-file')).message).toBe(
      'labels-file: expected images with 3 dimensions, header has 1 (4)',
    );
  });

  it('rejects a count other than the expected one', () => {
    expect(errorOf(() => parseIdxImages(idx([2, 1, 1], [0, 0]), 'imgs', 3)).message).toBe(
      'imgs: count mismatch: expected 3 images, header says 2',
    );
  });
});

describe('parseIdxLabels', () => {
  it('accepts digits 0-9', () => {
    expect(Array.from(parseIdxLabels(idx([10], range(10)), 'ok', 10))).toEqual(range(10));
  });

  it('rejects a label of 10 or more, naming its index and value', () => {
    expect(errorOf(() => parseIdxLabels(idx([4], [1, 2, 10, 3]), 'bad-labels')).message).toBe(
      'bad-labels: label at index 2 is 10, must be a digit 0-9',
    );
  });

  it('rejects images passed as labels, and a count mismatch', () => {
    expect(errorOf(() => parseIdxLabels(idx([1, 1, 1], [0]), 'imgs')).message).toMatch(
      /^imgs: expected labels with 1 dimension, header has 3/,
    );
    expect(errorOf(() => parseIdxLabels(idx([2], [0, 1]), 'lbl', 5)).message).toBe(
      'lbl: count mismatch: expected 5 labels, header says 2',
    );
  });
});
