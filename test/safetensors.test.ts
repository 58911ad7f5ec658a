import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  SafetensorsError,
  decodeSafetensors,
  encodeSafetensors,
  expectTensors,
  type NamedTensor,
} from '../src/io/safetensors.js';

const SRC = 'model.safetensors';

// Builds a file from a header object exactly as given, so tests control every field.
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), pad = 0): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  return withHeaderBytes(json, data);
}

function withHeaderBytes(json: Uint8Array, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function f32Bytes(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

function headerLength(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
}

function expectReject(bytes: Uint8Array, ...fragments: (string | RegExp)[]): void {
  let caught: unknown;
  try {
    decodeSafetensors(bytes, SRC);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SafetensorsError);
  const msg = (caught as Error).message;
  expect(msg.startsWith(`${SRC}: `)).toBe(true);
  for (const f of fragments) expect(msg).toMatch(f);
}

const f32 = (shape: number[], name = 'x'): object => ({
  [name]: { dtype: 'F32', shape, data_offsets: [0, shape.reduce((a, b) => a * b, 1) * 4] },
});

describe('round trip', () => {
  it('preserves names, shapes, values, order-independent lookup and metadata', () => {
    const tensors: NamedTensor[] = [
      { name: 'W1', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, -0, 1e-30]) },
      { name: 'b1', shape: [3], data: Float32Array.from([NaN, Infinity, -Infinity]) },
      { name: 'empty', shape: [4, 0, 2], data: new Float32Array(0) },
      { name: 'scalar', shape: [], data: Float32Array.from([42]) },
      { name: 'ünï/cødé', shape: [1], data: Float32Array.from([7]) },
    ];
    const metadata = { format: 'pt', note: 'héllo "quoted"' };
    const { tensors: out, metadata: meta } = decodeSafetensors(encodeSafetensors(tensors, metadata), SRC);
    expect([...out.keys()].sort()).toEqual(tensors.map((t) => t.name).sort());
    for (const t of tensors) {
      const d = out.get(t.name)!;
      expect(d.name).toBe(t.name);
      expect(d.shape).toEqual(t.shape);
      expect(d.data).toBeInstanceOf(Float32Array);
      expect(Array.from(d.data)).toEqual(Array.from(t.data));
    }
    expect(Object.is(out.get('W1')!.data[4], -0)).toBe(true);
    expect(meta).toEqual({ format: 'pt', note: 'héllo "quoted"' });
  });

  it('keeps a "__proto__" tensor and metadata key as plain data', () => {
    const metadata: Record<string, string> = JSON.parse('{"__proto__": "x"}');
    const bytes = encodeSafetensors([{ name: '__proto__', shape: [1], data: Float32Array.from([1]) }], metadata);
    const { tensors, metadata: meta } = decodeSafetensors(bytes);
    expect(tensors.get('__proto__')!.data[0]).toBe(1);
    expect(Object.getOwnPropertyDescriptor(meta, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(meta)).toBe(Object.prototype);
  });

  it('decodes with empty metadata and no tensors', () => {
    const out = decodeSafetensors(encodeSafetensors([]));
    expect(out.tensors.size).toBe(0);
    expect(out.metadata).toEqual({});
  });

  it('reads from a Uint8Array that is an unaligned view into a larger buffer', () => {
    const file = encodeSafetensors([{ name: 'a', shape: [3], data: Float32Array.from([1, 2, 3]) }]);
    const big = new Uint8Array(file.length + 3);
    big.set(file, 1);
    const out = decodeSafetensors(big.subarray(1, 1 + file.length));
    expect(Array.from(out.tensors.get('a')!.data)).toEqual([1, 2, 3]);
  });

  it('returns copies that do not alias the input bytes', () => {
    const file = encodeSafetensors([{ name: 'a', shape: [1], data: Float32Array.from([5]) }]);
    const out = decodeSafetensors(file);
    file.fill(0);
    expect(out.tensors.get('a')!.data[0]).toBe(5);
  });
});

describe('encoding layout', () => {
  it('pads the header with spaces to a multiple of 8 so data is aligned', () => {
    for (let len = 1; len <= 12; len++) {
      const name = 'n'.repeat(len);
      const bytes = encodeSafetensors([{ name, shape: [1], data: Float32Array.from([1]) }], { k: 'v'.repeat(len) });
      const n = headerLength(bytes);
      expect(n % 8).toBe(0);
      expect(new DataView(bytes.buffer).getUint32(4, true)).toBe(0);
      const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
      const json = text.trimEnd();
      expect(JSON.parse(json)[name].data_offsets).toEqual([0, 4]);
      expect(text.slice(json.length)).toMatch(/^ {0,7}$/);
      expect(bytes.length).toBe(8 + n + 4);
    }
  });

  it('lays tensors out contiguously in the given order, little-endian', () => {
    const bytes = encodeSafetensors([
      { name: 'z', shape: [2], data: Float32Array.from([1, 2]) },
      { name: 'a', shape: [1], data: Float32Array.from([3]) },
    ]);
    const n = headerLength(bytes);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.z).toEqual({ dtype: 'F32', shape: [2], data_offsets: [0, 8] });
    expect(header.a).toEqual({ dtype: 'F32', shape: [1], data_offsets: [8, 12] });
    expect(header.__metadata__).toBeUndefined();
    expect(Array.from(bytes.subarray(8 + n))).toEqual(Array.from(f32Bytes([1, 2, 3])));
  });

  it('matches a hand-built file byte for byte', () => {
    const json = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
    const expected = new Uint8Array([
      padded.length, 0, 0, 0, 0, 0, 0, 0,
      ...new TextEncoder().encode(padded),
      0x00, 0x00, 0x80, 0x3f, // 1.0f
      0x00, 0x00, 0x00, 0xc0, // -2.0f
    ]);
    expect(encodeSafetensors([{ name: 'w', shape: [2], data: Float32Array.from([1, -2]) }])).toEqual(expected);
    const out = decodeSafetensors(expected);
    expect(out.tensors.get('w')).toEqual({ name: 'w', shape: [2], data: Float32Array.from([1, -2]) });
  });

  it('decodes a foreign file with metadata, unpadded header and tensors out of order', () => {
    const header = {
      b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
      __metadata__: { format: 'pt' },
      a: { dtype: 'F32', shape: [1, 1], data_offsets: [0, 4], extra: 'ignored' },
    };
    const out = decodeSafetensors(rawFile(header, f32Bytes([0.5, 0.25])));
    expect(out.tensors.get('a')!.data[0]).toBe(0.5);
    expect(out.tensors.get('a')!.shape).toEqual([1, 1]);
    expect(out.tensors.get('b')!.data[0]).toBe(0.25);
    expect(out.metadata).toEqual({ format: 'pt' });
  });

  it('rejects bad input', () => {
    const one = Float32Array.from([1]);
    expect(() => encodeSafetensors([{ name: 'a', shape: [1], data: one }, { name: 'a', shape: [1], data: one }])).toThrow(
      /duplicate/,
    );
    expect(() => encodeSafetensors([{ name: '__metadata__', shape: [1], data: one }])).toThrow(SafetensorsError);
    expect(() => encodeSafetensors([{ name: 'a', shape: [2, 2], data: one }])).toThrow(/\[2, 2\] but 1 values/);
    expect(() => encodeSafetensors([{ name: 'a', shape: [-1], data: one }])).toThrow(/invalid shape/);
    expect(() => encodeSafetensors([{ name: 'a', shape: [1.5], data: one }])).toThrow(SafetensorsError);
    const badMeta = { k: 3 } as unknown as Record<string, string>;
    expect(() => encodeSafetensors([], badMeta)).toThrow(/metadata value for "k" must be a string/);
  });
});

describe('decode rejections', () => {
  const good = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const data8 = f32Bytes([1, 2]);

  it('file shorter than 8 bytes', () => {
    for (let len = 0; len < 8; len++) expectReject(new Uint8Array(len), `file is ${len} bytes`, /too short/);
  });

  it('header length past the end of the file', () => {
    const bytes = new Uint8Array(20);
    new DataView(bytes.buffer).setUint32(0, 100, true);
    expectReject(bytes, /header length 100/, /past the end/, /20 bytes/);
  });

  it('absurdly large header length', () => {
    const bytes = new Uint8Array(16);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, 100_000_001, true);
    expectReject(bytes, /header length 100000001 is absurdly large/);
    view.setUint32(0, 0, true);
    view.setUint32(4, 1, true);
    expectReject(bytes, /header length 4294967296 is absurdly large/);
    bytes.fill(0xff, 0, 8);
    expectReject(bytes, /header length 18446744073709551615 is absurdly large/);
  });

  it('header not valid UTF-8 or not JSON', () => {
    // The bad byte sits inside a JSON string, so only a strict UTF-8 decode can catch it.
    const enc = new TextEncoder();
    const invalid = new Uint8Array([...enc.encode('{"__metadata__":{"k":"'), 0xff, ...enc.encode('"}}')]);
    expectReject(withHeaderBytes(invalid), /not valid UTF-8 JSON/);
    expectReject(withHeaderBytes(new TextEncoder().encode('{"a": ')), /not valid UTF-8 JSON/);
    expectReject(withHeaderBytes(new Uint8Array(0)), /not valid UTF-8 JSON/);
    expectReject(withHeaderBytes(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d])), /not valid UTF-8 JSON/);
  });

  it('header not an object', () => {
    for (const h of [[], null, 3, 'str', true]) expectReject(rawFile(h), /header is not a JSON object/);
  });

  it('tensor entry not an object', () => {
    expectReject(rawFile({ w: [1, 2] }), /entry for tensor w is not an object/);
    expectReject(rawFile({ w: null }), /entry for tensor w is not an object/);
    expectReject(rawFile({ w: 'F32' }), /entry for tensor w is not an object/);
  });

  it('unknown or unsupported dtype names the dtype and tensor', () => {
    expectReject(rawFile({ w: { ...good, dtype: 'F16' } }, data8), /tensor w has unsupported dtype F16/, /only F32/);
    expectReject(rawFile({ w: { ...good, dtype: 'Q7' } }, data8), /tensor w has unknown dtype Q7/);
    expectReject(rawFile({ w: { ...good, dtype: undefined } }, data8), /tensor w has unknown dtype undefined/);
    expectReject(rawFile({ w: { ...good, dtype: 32 } }, data8), /tensor w has unknown dtype 32/);
  });

  it('bad shape', () => {
    for (const shape of [undefined, 2, [-1], [1.5], [2 ** 53], ['2'], [null], { 0: 2 }]) {
      expectReject(rawFile({ w: { ...good, shape } }, data8), /tensor w has shape .* expected an array of non-negative integers/);
    }
  });

  it('deeply nested or huge values do not escape as RangeError', () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    const header = (field: string) => `{"w":{"dtype":"F32","shape":[0],"data_offsets":[0,0],${field}}}`;
    const file = (text: string) => withHeaderBytes(new TextEncoder().encode(text));
    expectReject(file(header(`"shape":${deep}`)), /tensor w has shape \[\.\.\.\]/);
    expectReject(file(header(`"data_offsets":${deep}`)), /tensor w has data_offsets/);
    expectReject(file(header(`"dtype":${deep}`)), /tensor w has unknown dtype/);
    const long = rawFile({ w: { ...good, shape: Array.from({ length: 10_000 }, () => -1) } });
    expectReject(long, /shape \[-1,-1,.*\.\.\., expected/);
  });

  it('bad data_offsets', () => {
    for (const data_offsets of [undefined, [0], [0, 8, 8], [8, 0], [-4, 4], [0, 8.5], ['0', '8'], [0, 2 ** 53], { 0: 0, 1: 8 }]) {
      expectReject(rawFile({ w: { ...good, data_offsets } }, data8), /tensor w has data_offsets .* expected \[begin, end\]/);
    }
  });

  it('end past the data buffer', () => {
    expectReject(rawFile({ w: { ...good, shape: [3], data_offsets: [0, 12] } }, data8), /\[0, 12\] past the end of the 8-byte data buffer/);
  });

  it('byte length not matching the shape', () => {
    expectReject(rawFile({ w: { ...good, shape: [3] } }, data8), /tensor w has shape \[3\] \(12 bytes as F32\) but data_offsets \[0, 8\] span 8 bytes/);
    expectReject(rawFile({ w: { ...good, shape: [2 ** 30, 2 ** 30, 2 ** 30] } }, data8), /span 8 bytes/);
  });

  it('overlapping tensors', () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    expectReject(rawFile(header, f32Bytes([1, 2, 3])), /tensor b overlaps tensor a/);
    const dup = { a: header.a, b: header.a };
    expectReject(rawFile(dup, data8), /overlaps/);
  });

  it('gaps and unused trailing bytes', () => {
    expectReject(rawFile({ w: { ...good, data_offsets: [4, 12] } }, f32Bytes([0, 1, 2])), /gap of unused bytes 0\.\.4 before tensor w/);
    expectReject(rawFile({ w: good }, f32Bytes([1, 2, 3])), /4 unused trailing bytes/);
    expectReject(rawFile({}, new Uint8Array(1)), /1 unused trailing bytes/);
  });

  it('accepts zero-length tensors at the boundary between others', () => {
    const header = {
      a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] },
      b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
    };
    const out = decodeSafetensors(rawFile(header, data8));
    expect(out.tensors.get('e')!.data.length).toBe(0);
    expect(out.tensors.get('b')!.data[0]).toBe(2);
  });

  it('metadata must be an object of strings', () => {
    expectReject(rawFile({ __metadata__: { k: 1 } }), /metadata value for "k" is not a string/);
    expectReject(rawFile({ __metadata__: { k: null } }), /metadata value for "k" is not a string/);
    expectReject(rawFile({ __metadata__: ['a'] }), /__metadata__ is not an object/);
    expectReject(rawFile({ __metadata__: 'a' }), /__metadata__ is not an object/);
  });

  it('accepts a header padded with trailing spaces', () => {
    const out = decodeSafetensors(rawFile({ w: good }, data8, 13));
    expect(Array.from(out.tensors.get('w')!.data)).toEqual([1, 2]);
  });

  it('uses "model file" as the default source', () => {
    expect(() => decodeSafetensors(new Uint8Array(3))).toThrow(/^model file: /);
  });
});

describe('expectTensors', () => {
  const decoded = decodeSafetensors(
    encodeSafetensors([
      { name: 'W1', shape: [784, 100], data: new Float32Array(78400) },
      { name: 'b1', shape: [100], data: new Float32Array(100) },
      { name: 'extra', shape: [], data: new Float32Array(1) },
    ]),
  );

  it('passes when names and shapes match exactly', () => {
    const d = { tensors: new Map([...decoded.tensors].filter(([n]) => n !== 'extra')) };
    expect(() => expectTensors(d, [{ name: 'b1', shape: [100] }, { name: 'W1', shape: [784, 100] }], SRC)).not.toThrow();
  });

  it('reports shape mismatches, missing and extra tensors together', () => {
    const expected = [
      { name: 'W1', shape: [784, 50] },
      { name: 'b1', shape: [100] },
      { name: 'W2', shape: [50, 10] },
    ];
    let msg = '';
    try {
      expectTensors(decoded, expected, SRC);
    } catch (e) {
      expect(e).toBeInstanceOf(SafetensorsError);
      msg = (e as Error).message;
    }
    expect(msg).toContain('model.safetensors: W1 has shape [784, 100] but the network needs [784, 50]');
    expect(msg).toContain('missing tensor W2 (the network needs [50, 10])');
    expect(msg).toContain('unexpected tensor extra []');
    expect(msg).not.toContain('b1');
  });

  it('distinguishes rank differences', () => {
    expect(() => expectTensors({ tensors: new Map([['b', { name: 'b', shape: [1, 100], data: new Float32Array(100) }]]) }, [{ name: 'b', shape: [100] }], SRC)).toThrow(
      'model.safetensors: b has shape [1, 100] but the network needs [100]',
    );
  });
});

describe('fuzz: decode only ever succeeds or throws SafetensorsError', () => {
  function decodeOrSafeError(bytes: Uint8Array): void {
    try {
      decodeSafetensors(bytes, SRC);
    } catch (e) {
      if (!(e instanceof SafetensorsError)) throw e;
      expect(e.message.startsWith(`${SRC}: `)).toBe(true);
    }
  }

  const tensorArb: fc.Arbitrary<NamedTensor> = fc
    .record({
      name: fc.string({ maxLength: 6 }),
      shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
    })
    .map(({ name, shape }) => {
      const n = shape.reduce((a, b) => a * b, 1);
      return { name, shape, data: Float32Array.from({ length: n }, (_, i) => i - 1.5) };
    });

  const fileArb = fc
    .tuple(
      fc.uniqueArray(tensorArb, { selector: (t) => t.name, maxLength: 4 }).map((ts) => ts.filter((t) => t.name !== '__metadata__')),
      fc.option(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }), { nil: undefined }),
    )
    .map(([ts, meta]) => ({ ts, bytes: encodeSafetensors(ts, meta) }));

  it('valid random files round-trip', () => {
    fc.assert(
      fc.property(fileArb, ({ ts, bytes }) => {
        const out = decodeSafetensors(bytes);
        expect(out.tensors.size).toBe(ts.length);
        for (const t of ts) expect(Array.from(out.tensors.get(t.name)!.data)).toEqual(Array.from(t.data));
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), decodeOrSafeError), { numRuns: 500 });
    // A plausible small header length makes random bodies reach the JSON parser.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.uint8Array({ maxLength: 64 }), (n, body) => {
        const bytes = new Uint8Array(8 + body.length);
        new DataView(bytes.buffer).setUint32(0, n, true);
        bytes.set(body, 8);
        decodeOrSafeError(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('mutated, truncated and re-lengthed valid files', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('length' as const), lo: fc.nat({ max: 0xffffffff }), hi: fc.nat({ max: 0xffffffff }) }),
      fc.record({ kind: fc.constant('nudge' as const), delta: fc.integer({ min: -16, max: 16 }) }),
    );
    fc.assert(
      fc.property(fileArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), ({ bytes: original }, ms) => {
        let bytes = original.slice();
        for (const m of ms) {
          if (m.kind === 'flip' && bytes.length > 0) bytes[m.at % bytes.length] = m.value;
          if (m.kind === 'truncate') bytes = bytes.slice(0, m.at % (bytes.length + 1));
          if (bytes.length < 8) continue;
          const view = new DataView(bytes.buffer);
          if (m.kind === 'length') {
            view.setUint32(0, m.lo, true);
            view.setUint32(4, m.hi, true);
          }
          if (m.kind === 'nudge') view.setUint32(0, Math.max(0, view.getUint32(0, true) + m.delta), true);
        }
        decodeOrSafeError(bytes);
      }),
      { numRuns: 1000 },
    );
  });

  it('structurally plausible headers with random field values', () => {
    const anyJson = fc.oneof(
      fc.integer({ min: -2, max: 40 }),
      fc.double(),
      fc.constantFrom('F32', 'F16', '', null, true, [], {}),
      fc.array(fc.integer({ min: -2, max: 40 }), { maxLength: 3 }),
    );
    const entryArb = fc.record(
      { dtype: fc.oneof(fc.constant('F32'), anyJson), shape: fc.oneof(fc.array(fc.nat(4), { maxLength: 3 }), anyJson), data_offsets: anyJson },
      { requiredKeys: [] },
    );
    const headerArb = fc.dictionary(fc.constantFrom('a', 'b', 'c', '__metadata__', '__proto__'), fc.oneof(entryArb, anyJson), { maxKeys: 4 });
    fc.assert(
      fc.property(headerArb, fc.nat(40), fc.nat(8), (header, dataLen, pad) => decodeOrSafeError(rawFile(header, new Uint8Array(dataLen), pad))),
      { numRuns: 1000 },
    );
  });
});
