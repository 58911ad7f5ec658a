// Parser for the IDX format MNIST ships in (http://yann.lecun.com/exdb/mnist/).
// Pure: it sees only bytes, so the browser and Node loaders share it.

/** A missing, truncated or malformed IDX file; the message names the file. */
export class IdxError extends Error {
  override readonly name = 'IdxError';
}

/** An IDX file's dimensions and its unsigned bytes. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** An IDX image file: count images of rows x cols bytes. */
export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  pixels: Uint8Array;
}

const UBYTE = 0x08;
const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'short',
  0x0c: 'int',
  0x0d: 'float',
  0x0e: 'double',
};

function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

// Manual big-endian read: a DataView would have to honour byteOffset, and Node's pooled
// Buffers make forgetting that an easy mistake.
function readU32BE(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/**
 * Parses the IDX format (MNIST's): magic, dimensions, unsigned bytes; an IdxError for anything
 * else.
 */
export function parseIdx(bytes: Uint8Array, fileName: string): IdxArray {
  const fail = (what: string): never => {
    throw new IdxError(`${fileName}: ${what}`);
  };

  if (bytes.length < 4) fail(`too short for an IDX header: ${bytes.length} bytes, need at least 4`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    fail(`not an IDX file: magic number must start with two zero bytes, got ${hex(bytes[0])} ${hex(bytes[1])}`);
  }
  const type = bytes[2];
  if (type !== UBYTE) {
    const known = TYPE_NAMES[type];
    fail(`unsupported type code ${hex(type)}${known ? ` (${known})` : ''}; only ${hex(UBYTE)} (unsigned byte) is supported`);
  }
  const rank = bytes[3];
  if (rank === 0) fail('header declares 0 dimensions');

  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) {
    fail(`truncated header: ${rank} dimensions need ${headerLength} header bytes, file has ${bytes.length}`);
  }
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(readU32BE(bytes, 4 + 4 * i));

  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerLength;
  const shape = `${dims.join('x')} = ${expected} data bytes`;
  if (actual < expected) fail(`truncated: header says ${shape}, file has ${actual}`);
  if (actual > expected) fail(`${actual - expected} trailing bytes: header says ${shape}, file has ${actual}`);

  // A copy, not a view: the result then owns a zero-offset ArrayBuffer of exactly its size,
  // which GPU upload can take whole. new Uint8Array(view) copies even for a Node Buffer,
  // whose own slice() would not.
  return { dims, data: new Uint8Array(bytes.subarray(headerLength)) };
}

function checkShape(parsed: IdxArray, fileName: string, rank: number, what: string, expectedCount?: number): void {
  const { dims } = parsed;
  if (dims.length !== rank) {
    throw new IdxError(`${fileName}: expected ${what} with ${rank} dimension${rank === 1 ? '' : 's'}, header has ${dims.length} (${dims.join('x')})`);
  }
  if (expectedCount !== undefined && dims[0] !== expectedCount) {
    throw new IdxError(`${fileName}: count mismatch: expected ${expectedCount} ${what}, header says ${dims[0]}`);
  }
}

/** An IDX file of images (three dimensions), optionally of a known count. */
export function parseIdxImages(bytes: Uint8Array, fileName: string, expectedCount?: number): IdxImages {
  const parsed = parseIdx(bytes, fileName);
  checkShape(parsed, fileName, 3, 'images', expectedCount);
  const [count, rows, cols] = parsed.dims as [number, number, number];
  return { count, rows, cols, pixels: parsed.data };
}

/** An IDX file of labels (one dimension), optionally of a known count. */
export function parseIdxLabels(bytes: Uint8Array, fileName: string, expectedCount?: number): Uint8Array {
  const parsed = parseIdx(bytes, fileName);
  checkShape(parsed, fileName, 1, 'labels', expectedCount);
  const labels = parsed.data;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= 10) throw new IdxError(`${fileName}: label at index ${i} is ${labels[i]}, must be a digit 0-9`);
  }
  return labels;
}
