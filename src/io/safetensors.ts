// Minimal safetensors reader/writer for F32 tensors.
// Layout: u64 LE header length N, N bytes of UTF-8 JSON header, then the data buffer.
// The decoder treats its input as hostile: every failure is a SafetensorsError
// that starts with the source name, and nothing is read outside `bytes`.

/**
 * A malformed model file or one for another net; the message names the file, the tensor and both
 * shapes.
 */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** A float32 tensor as a safetensors file holds it. */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** A safetensors file's tensors by name and its string metadata. */
export interface DecodedSafetensors {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

const METADATA_KEY = '__metadata__';
// Same cap as the reference implementation: a larger header is a corrupt or malicious file.
const MAX_HEADER_BYTES = 100_000_000;
// Dtypes from the spec, so a file we cannot load gets "unsupported" rather than "unknown".
const KNOWN_DTYPES = new Set([
  'BOOL', 'U8', 'I8', 'U16', 'I16', 'F16', 'BF16', 'U32', 'I32', 'F32', 'U64', 'I64', 'F64',
  'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64',
]);

const formatShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

// Untrusted values end up in messages: a deeply nested array would overflow JSON.stringify's
// recursion and a huge one would make an unreadable message.
function show(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = Array.isArray(v) ? '[...]' : typeof v;
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isShape(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
}

// Returns Infinity instead of an inexact huge number, so a size comparison fails cleanly.
function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return shape.includes(0) ? 0 : Infinity;
  }
  return n;
}

/**
 * Writes tensors and metadata in the safetensors format (the one Hugging Face uses): a JSON header,
 * then raw little-endian float32.
 */
export function encodeSafetensors(
  tensors: NamedTensor[],
  metadata?: Record<string, string>,
): Uint8Array {
  // Null prototype so a tensor named "__proto__" becomes a key instead of a prototype swap.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new SafetensorsError(`metadata value for "${k}" must be a string, got ${typeof v}`);
      }
    }
    header[METADATA_KEY] = { ...metadata };
  }

  let offset = 0;
  for (const t of tensors) {
    if (t.name === METADATA_KEY || t.name in header) {
      throw new SafetensorsError(`duplicate or reserved tensor name "${t.name}"`);
    }
    if (!isShape(t.shape)) {
      throw new SafetensorsError(`tensor ${t.name} has invalid shape ${show(t.shape)}`);
    }
    if (elementCount(t.shape) !== t.data.length) {
      throw new SafetensorsError(
        `tensor ${t.name} has shape ${formatShape(t.shape)} but ${t.data.length} values`,
      );
    }
    const end = offset + t.data.length * 4;
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, end] };
    offset = end;
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  // Padding keeps the data buffer 8-byte aligned so readers can map it without copying.
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLen, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);

  let pos = 8 + headerLen;
  for (const t of tensors) {
    for (let i = 0; i < t.data.length; i++, pos += 4) view.setFloat32(pos, t.data[i]!, true);
  }
  return out;
}

/** Reads a safetensors file, checking every offset and shape before reading (it is fuzzed). */
export function decodeSafetensors(bytes: Uint8Array, source = 'model file'): DecodedSafetensors {
  function fail(msg: string): never {
    throw new SafetensorsError(`${source}: ${msg}`);
  }

  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  if (hi !== 0 || lo > MAX_HEADER_BYTES) {
    fail(`header length ${view.getBigUint64(0, true)} is absurdly large (limit ${MAX_HEADER_BYTES} bytes)`);
  }
  const headerLen = lo;
  if (8 + headerLen > bytes.length) {
    fail(`header length ${headerLen} runs past the end of the file (${bytes.length} bytes, header needs ${8 + headerLen})`);
  }

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isPlainObject(header)) fail('header is not a JSON object');

  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const infos: { name: string; shape: number[]; begin: number; end: number }[] = [];

  for (const [name, entry] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      if (!isPlainObject(entry)) fail(`${METADATA_KEY} is not an object`);
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') fail(`metadata value for "${k}" is not a string`);
      }
      // fromEntries defines own properties, so a "__proto__" key stays plain data.
      metadata = Object.fromEntries(Object.entries(entry as Record<string, string>));
      continue;
    }
    if (!isPlainObject(entry)) fail(`entry for tensor ${name} is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (dtype !== 'F32') {
      const shown = typeof dtype === 'string' ? dtype : show(dtype);
      const kind = typeof dtype === 'string' && KNOWN_DTYPES.has(dtype) ? 'unsupported' : 'unknown';
      fail(`tensor ${name} has ${kind} dtype ${shown} (only F32 is supported)`);
    }
    if (!isShape(shape)) {
      fail(`tensor ${name} has shape ${show(shape)}, expected an array of non-negative integers`);
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !Number.isSafeInteger(offsets[0]) || !Number.isSafeInteger(offsets[1]) ||
      offsets[0] < 0 || offsets[0] > offsets[1]
    ) {
      fail(`tensor ${name} has data_offsets ${show(offsets)}, expected [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLen) {
      fail(`tensor ${name} has data_offsets [${begin}, ${end}] past the end of the ${dataLen}-byte data buffer`);
    }
    if (elementCount(shape) * 4 !== end - begin) {
      fail(`tensor ${name} has shape ${formatShape(shape)} (${elementCount(shape) * 4} bytes as F32) but data_offsets [${begin}, ${end}] span ${end - begin} bytes`);
    }
    infos.push({ name, shape, begin, end });
  }

  // The spec requires the tensors to tile the data buffer exactly: no overlaps, no holes.
  const sorted = [...infos].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev = '';
  for (const t of sorted) {
    if (t.begin < cursor) fail(`tensor ${t.name} overlaps tensor ${prev} (bytes ${t.begin}..${cursor})`);
    if (t.begin > cursor) fail(`data buffer has a gap of unused bytes ${cursor}..${t.begin} before tensor ${t.name}`);
    cursor = t.end;
    prev = t.name;
  }
  if (cursor !== dataLen) fail(`data buffer has ${dataLen - cursor} unused trailing bytes (${cursor}..${dataLen})`);

  const tensors = new Map<string, NamedTensor>();
  for (const t of infos) {
    const data = new Float32Array((t.end - t.begin) / 4);
    // DataView tolerates unaligned offsets and fixes the byte order regardless of the host.
    for (let i = 0, p = dataStart + t.begin; i < data.length; i++, p += 4) data[i] = view.getFloat32(p, true);
    tensors.set(t.name, { name: t.name, shape: [...t.shape], data });
  }
  return { tensors, metadata };
}

/** Refuses a file that lacks a tensor or holds one of another shape, naming both shapes. */
export function expectTensors(
  decoded: { tensors: Map<string, NamedTensor> },
  expected: { name: string; shape: number[] }[],
  source = 'model file',
): void {
  const problems: string[] = [];
  const wanted = new Set<string>();
  for (const { name, shape } of expected) {
    wanted.add(name);
    const t = decoded.tensors.get(name);
    if (t === undefined) {
      problems.push(`missing tensor ${name} (the network needs ${formatShape(shape)})`);
    } else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      problems.push(`${name} has shape ${formatShape(t.shape)} but the network needs ${formatShape(shape)}`);
    }
  }
  for (const [name, t] of decoded.tensors) {
    if (!wanted.has(name)) problems.push(`unexpected tensor ${name} ${formatShape(t.shape)} that the network does not use`);
  }
  if (problems.length > 0) throw new SafetensorsError(`${source}: ${problems.join('; ')}`);
}
