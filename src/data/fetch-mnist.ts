import { IdxError } from './idx.js';
import { buildMnist, MNIST_FILES, type Mnist, type MnistFileKey, type MnistFiles } from './mnist.js';

// Uncompressed sizes of the canonical files: the fallback total when a server sends no
// usable Content-Length (absent, or describing a gzip-encoded body rather than the bytes read).
const CANONICAL_SIZES: Record<MnistFileKey, number> = {
  trainImages: 16 + 60000 * 784,
  trainLabels: 8 + 60000,
  testImages: 16 + 10000 * 784,
  testLabels: 8 + 10000,
};

/** Bytes read so far and the total expected, across all four files. */
export type ProgressCallback = (loadedBytes: number, totalBytes: number) => void;

function joinUrl(baseUrl: string, name: string): string {
  return baseUrl === '' ? name : `${baseUrl.replace(/\/+$/, '')}/${name}`;
}

function expectedSize(response: Response, key: MnistFileKey): number {
  const length = Number(response.headers.get('content-length'));
  const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
  return !encoded && Number.isSafeInteger(length) && length > 0 ? length : CANONICAL_SIZES[key];
}

async function readBody(response: Response, onChunk: (bytes: number) => void): Promise<Uint8Array> {
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onChunk(bytes.length);
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
    onChunk(value.length);
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

/** Downloads the four IDX files from `baseUrl` in parallel; progress is summed across them. */
export async function fetchMnist(baseUrl: string, onProgress?: ProgressCallback): Promise<Mnist> {
  const keys = Object.keys(MNIST_FILES) as MnistFileKey[];
  // One failure aborts the rest, so a 404 on a label file doesn't leave 47 MB still downloading.
  const abort = new AbortController();
  const failed = (url: string, what: string, cause: unknown): IdxError => {
    abort.abort();
    return new IdxError(`${url}: ${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  };

  const responses = await Promise.all(
    keys.map(async (key) => {
      const url = joinUrl(baseUrl, MNIST_FILES[key]);
      let response: Response;
      try {
        response = await fetch(url, { signal: abort.signal });
      } catch (cause) {
        throw failed(url, 'fetch failed', cause);
      }
      if (!response.ok) {
        abort.abort();
        throw new IdxError(`${url}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
      }
      return { key, url, response };
    }),
  );

  let total = responses.reduce((sum, { key, response }) => sum + expectedSize(response, key), 0);
  let loaded = 0;
  const report = (bytes: number): void => {
    loaded += bytes;
    // A wrong Content-Length must not make progress run past 100%.
    total = Math.max(total, loaded);
    onProgress?.(loaded, total);
  };
  onProgress?.(0, total);

  const bodies = await Promise.all(
    responses.map(async ({ key, url, response }) => {
      try {
        return [key, await readBody(response, report)] as const;
      } catch (cause) {
        throw failed(url, 'download failed', cause);
      }
    }),
  );
  return buildMnist(Object.fromEntries(bodies) as MnistFiles);
}
